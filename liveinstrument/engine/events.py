"""Note events from control threads to the audio core: a single-producer/single-consumer ring.

The ring (192-byte header, then 32-byte records, see ``native/rtcore.h``) lives in
shared memory, or process memory for offline renders. Every event carries its target
sample time on the core's clock (``at``; -1 = offset 0 of the next block). Python
threads (MIDI, OSC, web, capture) are serialised by a producers' lock, so the ring has
one producer at a time; the C push stores the record, then publishes the write index
with release ordering. The consumer, the core, never takes the lock.
"""
from __future__ import annotations

import threading
import time
from multiprocessing import shared_memory

import numpy as np

from . import native_core as nc

NOTE_ON, NOTE_OFF, ALL_OFF = 1, 2, 3


class EventRing:
    def __init__(self, capacity: int = 1024, shared: bool = True):
        cap = 1 << max(4, int(capacity - 1).bit_length())            # power of two
        self.capacity = cap
        size = nc.RING_HDR_BYTES + cap * nc.EVENT_BYTES
        self._shm = shared_memory.SharedMemory(create=True, size=size) if shared else None
        self._mem = np.ndarray(size, np.uint8, self._shm.buf) if self._shm is not None else np.zeros(size, np.uint8)
        self._mem[:] = 0
        self._lib = nc.lib()
        self.address = nc.addr(self._mem)
        self._lib.rt_ring_init(self.address, cap, nc.EVENT_BYTES)
        self._idx = self._mem[:nc.RING_HDR_BYTES].view(np.int64)       # [0] write, [8] read, [17] dropped
        self._lock = threading.Lock()                                  # producers only

    @property
    def name(self) -> str | None:
        return self._shm.name if self._shm is not None else None

    def push(self, kind: int, pad: int, vel: float = 0.0, at: int = -1) -> bool:
        """Queue an event for sample time ``at`` (any thread but the audio one). False when full."""
        with self._lock:
            return bool(self._lib.rt_ev_push(self.address, int(at), kind, pad, float(vel), time.monotonic()))

    @property
    def dropped(self) -> int:
        return int(self._idx[17])

    def pending(self) -> int:
        return int(self._idx[0] - self._idx[8])

    def close(self) -> None:
        if self._shm is None:
            return
        self._idx = None  # type: ignore[assignment]
        self._mem = None  # type: ignore[assignment]
        try:
            self._shm.close()
            self._shm.unlink()
        except (BufferError, FileNotFoundError):
            pass
        self._shm = None

