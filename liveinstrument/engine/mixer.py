"""Voice mixer: the Python face of the C real-time core (``native/rtcore.c``).

The per-block code (map adoption, event intake, voices with start/mix/fade/steal/choke,
output stage) is C and is what PortAudio or JACK calls for every block (``audio_out``);
no Python runs on the audio path. This class preallocates everything the core uses
(parameters, adopted maps, counters, timing arrays), creates the core before any stream
starts, and gives control threads their ways in: single stores into the parameter array,
and timestamped events through the :class:`~.events.EventRing`.

Per block (see rtcore.c): adopt new slot maps (seqlock, acquire/release) and ack them;
start voices for events due in the block at their sample offsets; mix; NaN/Inf scrub ->
ramped master gain -> gain rider -> tanh knee -> hard clip, so |y| <= 1 always. A cut voice
fades over FADE_LEN samples; a new sound never cuts a ringing voice. A block larger than
``max_block`` is split, not silenced.
"""
from __future__ import annotations

import ctypes as C

import numpy as np

from . import native_core as nc
from .events import ALL_OFF, NOTE_ON, EventRing
from .shm_ring import Ring

FADE_LEN = 64          # samples (1.5 ms at 44.1 kHz): short, yet no audible click (rtcore.c)
TIMING_MODES = ("constant", "immediate")


class Mixer:
    def __init__(self, ring: Ring, sample_rate: int, max_voices: int = 32, max_block: int = 4096,
                 per_pad_outputs: bool = False, velocity_curve: float = 1.5, events: EventRing | None = None,
                 timing: str = "constant"):
        if timing not in TIMING_MODES:
            raise ValueError(f"timing must be one of {TIMING_MODES}, not {timing!r}")
        L = ring.layout
        self.ring = ring
        self.sample_rate = sample_rate
        self.max_voices = max_voices
        self.max_block = max_block
        self.n_pads = P = L.n_pads
        self.per_pad_outputs = per_pad_outputs
        self.timing = timing
        self._own_events = events is None
        self.events = events if events is not None else EventRing(1024, shared=False)
        # -- what control threads write (float64 stores), the core reads each block
        self.params = np.zeros(P * nc.PR_N + 1, np.float64)
        self.params[P * nc.PR_N] = 1.0                                   # master
        # -- adopted copies of the ring's maps (the core writes, status views read)
        self.seq = np.zeros(P, np.int64)
        self.map = np.zeros((P, L.n_slots), np.int64)
        self.lens = np.zeros((P, L.n_bufs), np.int64)
        self.meta = np.zeros((P, 2), np.int64)                           # n_rr, gen
        # -- counters and timings (the core writes, Python reads)
        self.stats = np.zeros(nc.ST_N, np.int64)
        self.durations = np.zeros(nc.N_TIMINGS, np.float64)
        self.lat_s = np.zeros(nc.N_LAT, np.float64)                       # event push -> its block
        self._lim = np.array([1.0, 0.0], np.float64)                    # limiter gain, output peak meter
        self.last_hit_frame = np.full(P, -1, np.int64)
        self._lib = nc.lib()
        cfg = nc.Config(P, L.n_slots, L.n_bufs, L.buf_len, max_voices, max_block, int(per_pad_outputs),
                        float(sample_rate), float(velocity_curve))
        a = nc.addr
        sh = nc.Shared(a(ring.audio), a(ring.hdr), a(ring.fb), self.events.address, a(self.params),
                       a(self.seq), a(self.map), a(self.lens), a(self.meta), a(self.stats),
                       a(self.durations), a(self.lat_s), a(self._lim), a(self.last_hit_frame))
        self.handle = self._lib.rt_create(C.byref(cfg), C.byref(sh))
        if not self.handle:
            raise MemoryError("could not allocate the real-time core")

    # ------------------------------------------------------------ parameters (control threads)
    def set_pad_mix(self, pad: int, amp: float, pan_lr: tuple[float, float], vt: float, choke: int) -> None:
        """One pad's mix: linear gain, (left, right) pan gains, velocity->brightness, choke group."""
        row = pad * nc.PR_N
        self.params[row + nc.PR_AMP] = amp
        self.params[row + nc.PR_PAN_L], self.params[row + nc.PR_PAN_R] = pan_lr
        self.params[row + nc.PR_VT] = vt
        self.params[row + nc.PR_CHOKE] = choke

    def set_master(self, amp: float) -> None:
        """Master gain (linear); a non-finite or negative value mutes rather than breaks the output."""
        self.params[self.n_pads * nc.PR_N] = amp

    @property
    def master(self) -> float:
        return float(self.params[self.n_pads * nc.PR_N])

    # ------------------------------------------------------------ events
    def now_frame(self) -> int:
        """The core's sample time now (JACK's frame clock under JACK; offline: the next block)."""
        return int(self._lib.rt_now_frame(self.handle))

    def block_size(self) -> int:
        """Frames of the last block the device asked for (128 until one has run)."""
        return int(self.stats[nc.ST_BLOCK]) or 128

    def stamp(self, frame: int | None = None) -> int:
        """Target sample time for an event that arrived at ``frame`` (default: now).

        ``constant`` timing plays it one block after arrival, so latency does not depend on
        where in the device's cycle the event came; ``immediate`` returns -1 (offset 0 of the
        next block: lowest average latency, up to a block of jitter)."""
        if self.timing == "immediate":
            return -1
        return (self.now_frame() if frame is None else int(frame)) + self.block_size()

    def note_on(self, pad: int, velocity: float, at: int = -1) -> bool:
        """Queue a hit (0-based pad) for sample time ``at``; False when the ring is full."""
        return self.events.push(NOTE_ON, pad, velocity, at)

    def all_off(self, at: int = -1) -> bool:
        return self.events.push(ALL_OFF, 0, 0.0, at)

    def schedule(self, pad: int, velocity: float, offset: int) -> None:
        """Sample-accurate hit ``offset`` samples into the next ``process`` call (offline, tests)."""
        self.note_on(pad, velocity, self.now_frame() + max(int(offset), 0))

    # ------------------------------------------------------------ the block (offline and pumps)
    def process(self, n: int, out: np.ndarray) -> None:
        """Render ``n`` frames into ``out`` [n, channels] float32, C-contiguous (2 + n_pads
        channels with per-pad outputs), on the core's running clock."""
        if out.dtype != np.float32 or not out.flags.c_contiguous or out.shape[0] < n:
            raise ValueError("out must be a C-contiguous float32 [n, channels] array")
        self._lib.rt_process(self.handle, out.ctypes.data, n, out.shape[1] if out.ndim == 2 else 1)

    def adopt(self) -> None:
        """Adopt new maps and ack them outside a block (same-thread offline use only)."""
        self._lib.rt_adopt(self.handle)

    # ------------------------------------------------------------ read-outs
    def _st(self, k: int) -> int:
        return int(self.stats[k])

    hits = property(lambda self: self._st(nc.ST_HITS))
    steals = property(lambda self: self._st(nc.ST_STEALS))
    chokes = property(lambda self: self._st(nc.ST_CHOKES))
    not_ready = property(lambda self: self._st(nc.ST_NOT_READY))
    hard_kills = property(lambda self: self._st(nc.ST_HARD_KILLS))
    nonfinite_blocks = property(lambda self: self._st(nc.ST_NONFINITE))
    frames = property(lambda self: self._st(nc.ST_FRAMES))
    late_events = property(lambda self: self._st(nc.ST_LATE))
    split_blocks = property(lambda self: self._st(nc.ST_SPLITS))
    lat_n = property(lambda self: self._st(nc.ST_LAT_N))
    limiter_gain = property(lambda self: float(self._lim[0]))
    out_peak = property(lambda self: float(self._lim[1]))               # 0..1, falls 20 dB/s

    def active_voices(self) -> int:
        """Voices playing, fading ones included (as of the last block)."""
        return self._st(nc.ST_VOICES)

    def sounding_voices(self) -> int:
        """Voices playing and not fading out (as of the last block)."""
        return self._st(nc.ST_SOUNDING)

    def ready(self, pad: int) -> bool:
        return bool(self.meta[pad, 0] > 0)

    def close(self) -> None:
        """Free the core (after every stream that calls it has stopped)."""
        if self.handle:
            self._lib.rt_destroy(self.handle)
            self.handle = None
        if self._own_events:
            self.events.close()
