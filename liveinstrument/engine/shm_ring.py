"""Shared-memory ring of rendered hits: renderer process writes, audio callback reads.

One SharedMemory block holds, per pad, ``n_bufs`` audio buffers (more than the
``n_slots`` round-robin slots, so a voice can keep ringing from a buffer that has
left the slot map while its replacement is written elsewhere) and two small
int64 tables, each with exactly one writer:

* ``hdr`` (renderer writes): a seqlock counter, the generation (request version)
  whose main sound is published, the number of live round-robin slots, the
  slot -> buffer map, and each buffer's length.
* ``fb`` (mixer writes): the header seq it has adopted (ack), per-buffer voice
  counts, per-slot play counters (so the renderer refills consumed slots).

Protocol, no locks: the writer fills a buffer nobody can be reading (not in the
map, no voices on it, and the reader has acked a map without it), then bumps
``seq`` to odd, updates the map, bumps ``seq`` to even. The reader copies the
map only when it sees the same even ``seq`` before and after the copy, so it
never adopts a half-written map; audio is complete before the map points at it.
The writer's seq/map stores go through the C core (``rt_seq_publish``: a release fence
after the odd seq, a release store of the even one) and the reader in the core uses
acquire loads, so the order holds on weakly ordered CPUs (ARM64) as well as on x86.
"""
from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

# hdr columns (per pad)
SEQ, GEN, N_RR, H_SLOTS = 0, 1, 2, 4          # slot map starts at column H_SLOTS
# fb columns (per pad)
ACK = 0
F_BUSY = 4                                      # then n_bufs busy counts, then n_slots play counters


@dataclass(frozen=True)
class RingLayout:
    n_pads: int = 16
    n_slots: int = 8
    n_bufs: int = 20
    buf_len: int = 52_000

    @property
    def hdr_cols(self) -> int:
        return H_SLOTS + self.n_slots + self.n_bufs       # map, then buffer lengths

    @property
    def fb_cols(self) -> int:
        return F_BUSY + self.n_bufs + self.n_slots

    def sizes(self) -> tuple[int, int, int]:
        a = self.n_pads * self.n_bufs * self.buf_len * 4
        h = self.n_pads * self.hdr_cols * 8
        f = self.n_pads * self.fb_cols * 8
        return a, h, f

    def nbytes(self) -> int:
        return sum(self.sizes())

    def to_dict(self) -> dict:
        return {"n_pads": self.n_pads, "n_slots": self.n_slots, "n_bufs": self.n_bufs, "buf_len": self.buf_len}


class Ring:
    """Views onto the shared block. ``Ring.create`` owns (and unlinks) it; ``Ring.attach`` maps it."""

    def __init__(self, layout: RingLayout, shm: shared_memory.SharedMemory | None, owner: bool):
        self.layout = L = layout
        self._shm = shm
        self.owner = owner
        a, h, f = L.sizes()
        buf = shm.buf if shm is not None else bytearray(a + h + f)
        self._raw = buf
        self.audio = np.ndarray((L.n_pads, L.n_bufs, L.buf_len), np.float32, buf, 0)
        self.hdr = np.ndarray((L.n_pads, L.hdr_cols), np.int64, buf, a)
        self.fb = np.ndarray((L.n_pads, L.fb_cols), np.int64, buf, a + h)
        # convenient sub-views (still shared memory)
        self.slot_map = self.hdr[:, H_SLOTS:H_SLOTS + L.n_slots]
        self.buf_len = self.hdr[:, H_SLOTS + L.n_slots:]
        self.busy = self.fb[:, F_BUSY:F_BUSY + L.n_bufs]
        self.played = self.fb[:, F_BUSY + L.n_bufs:]

    @property
    def name(self) -> str | None:
        return self._shm.name if self._shm is not None else None

    @classmethod
    def create(cls, layout: RingLayout, shared: bool = True) -> "Ring":
        """A zeroed ring; ``shared=False`` keeps it in process memory (offline renders)."""
        shm = shared_memory.SharedMemory(create=True, size=layout.nbytes()) if shared else None
        r = cls(layout, shm, owner=True)
        r.audio.fill(0.0)
        r.hdr.fill(0)
        r.fb.fill(0)
        return r

    @classmethod
    def attach(cls, name: str, layout: RingLayout) -> "Ring":
        # The creating process owns (and unlinks) the segment. Python >= 3.13: don't track it
        # here. Older Pythons register it with the resource tracker, which spawned children
        # share with their parent, so the parent's unlink clears that entry.
        try:
            shm = shared_memory.SharedMemory(name=name, track=False)
        except TypeError:  # Python < 3.13
            shm = shared_memory.SharedMemory(name=name)
        return cls(layout, shm, owner=False)

    def close(self) -> None:
        if self._shm is None:
            return
        # drop numpy views first: SharedMemory.close() refuses while buffers are exported
        self.audio = self.hdr = self.fb = self.slot_map = self.buf_len = self.busy = self.played = None  # type: ignore
        self._raw = None
        try:
            self._shm.close()
            if self.owner:
                self._shm.unlink()
        except (BufferError, FileNotFoundError):
            pass
        self._shm = None

    # ------------------------------------------------------------ writer side (renderer)
    def publish(self, pad: int, slot_bufs: np.ndarray | list[int], n_rr: int, gen: int | None = None) -> None:
        """Point the pad's slots at buffers already written (seqlock: odd while editing)."""
        from .native_core import lib
        m = np.ascontiguousarray(slot_bufs, np.int64)
        if m.size != self.layout.n_slots:
            raise ValueError(f"slot map needs {self.layout.n_slots} entries, got {m.size}")
        lib().rt_seq_publish(self.hdr[pad].ctypes.data, H_SLOTS, m.ctypes.data, m.size, int(n_rr),
                             -1 if gen is None else int(gen), N_RR, GEN)

    def write_buffer(self, pad: int, buf: int, audio: np.ndarray) -> None:
        """Copy a hit into a (free) buffer; zero the rest so a stale tail can never play."""
        n = min(audio.size, self.layout.buf_len)
        self.audio[pad, buf, :n] = audio[:n]
        self.audio[pad, buf, n:] = 0.0
        self.buf_len[pad, buf] = n

    # ------------------------------------------------------------ reader side (mixer)
    def read_map(self, pad: int, map_out: np.ndarray, len_out: np.ndarray, meta_out: np.ndarray) -> int:
        """Copy pad's slot map, buffer lengths and (n_rr, gen) if consistent.

        Returns the seq adopted, or -1 when the writer was mid-update (keep the old copy).
        """
        h = self.hdr[pad]
        s1 = int(h[SEQ])
        if s1 & 1:
            return -1
        map_out[:] = self.slot_map[pad]
        len_out[:] = self.buf_len[pad]
        meta_out[0] = h[N_RR]
        meta_out[1] = h[GEN]
        if int(h[SEQ]) != s1:
            return -1
        return s1
