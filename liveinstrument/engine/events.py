"""Lock-free hand-off of note events from control threads to the audio callback.

A preallocated numpy ring with a write index (producers) and a read index (the
callback). Producers (MIDI thread, OSC thread, status UI) serialise among
themselves with a lock; the consumer never takes it: it reads the write index,
consumes up to it, then stores its read index. Entries are written before the
write index is bumped, so the consumer never sees a half-written event.
"""
from __future__ import annotations

import threading
import time

import numpy as np

NOTE_ON, NOTE_OFF, ALL_OFF = 1, 2, 3


class EventQueue:
    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        self.kind = np.zeros(capacity, np.int32)
        self.pad = np.zeros(capacity, np.int32)
        self.vel = np.zeros(capacity, np.float32)
        self.t_submit = np.zeros(capacity, np.float64)
        self.idx = np.zeros(2, np.int64)        # [write, read], monotonically increasing
        self.dropped = 0
        self._lock = threading.Lock()           # producers only

    def push(self, kind: int, pad: int, vel: float = 0.0) -> bool:
        """Queue an event (any thread but the audio one). False (counted) when full."""
        with self._lock:
            w = int(self.idx[0])
            if w - int(self.idx[1]) >= self.capacity:
                self.dropped += 1
                return False
            i = w % self.capacity
            self.kind[i] = kind
            self.pad[i] = pad
            self.vel[i] = vel
            self.t_submit[i] = time.perf_counter()
            self.idx[0] = w + 1                 # publish last
            return True

    def pending(self) -> int:
        return int(self.idx[0] - self.idx[1])
