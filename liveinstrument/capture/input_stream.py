"""The audio-input side of the callback: a preallocated single-writer ring of mono samples.

In a duplex stream the C core does the writer's job (``rt_pa_callback``: it copies the
chosen channel into ``buf`` and publishes ``idx[0]`` with a release store);
``InputRing.write`` is the same thing in Python for offline runs and tests: one or two
slice copies into a preallocated float32 buffer and one integer store that publishes them. No
allocation of sample buffers, no lock, no arithmetic on the signal, no torch.
The analysis thread reads behind the write index with :meth:`read`; the ring
holds several seconds, so a reader that stalls for less than that loses nothing
(a longer stall is detected and counted as an overrun by the reader).
"""
from __future__ import annotations

import numpy as np


class InputRing:
    def __init__(self, seconds: float = 4.0, sample_rate: int = 44_100, channel: int = 0):
        n = 1 << int(np.ceil(np.log2(max(seconds * sample_rate, 4096))))
        self.capacity = n
        self.mask = n - 1
        self.buf = np.zeros(n, np.float32)
        self.idx = np.zeros(2, np.int64)          # [samples written (monotonic, written last), blocks]
        self.channel = int(channel)               # which input channel to take (0-based)
        self.channels = self.channel + 1          # input channels the stream must open

    @property
    def blocks(self) -> int:
        return int(self.idx[1])

    # ------------------------------------------------------------ writer (offline; the core live)
    def write(self, indata: np.ndarray, frames: int) -> None:
        """Copy ``indata[:frames, channel]`` in (one writer at a time)."""
        w = int(self.idx[0])
        i = w & self.mask
        ch = self.channel if self.channel < indata.shape[1] else 0
        n1 = frames if frames <= self.capacity - i else self.capacity - i
        self.buf[i:i + n1] = indata[:n1, ch]
        if n1 < frames:
            self.buf[:frames - n1] = indata[n1:frames, ch]
        self.idx[0] = w + frames                  # publish after the copy
        self.idx[1] += 1

    # ------------------------------------------------------------ offline / test writer
    def push(self, x: np.ndarray) -> None:
        """Write mono samples from a non-audio thread (offline runs, tests)."""
        x = np.asarray(x, np.float32).reshape(-1, 1)
        for k in range(0, x.shape[0], self.capacity // 2):
            part = x[k:k + self.capacity // 2]
            self.write(part, part.shape[0]) if self.channel == 0 else self._push0(part)

    def _push0(self, part: np.ndarray) -> None:
        ch, self.channel = self.channel, 0
        try:
            self.write(part, part.shape[0])
        finally:
            self.channel = ch

    # ------------------------------------------------------------ reader
    def written(self) -> int:
        return int(self.idx[0])

    def read(self, start: int, n: int, out: np.ndarray | None = None) -> np.ndarray:
        """Samples [start, start + n) (absolute indices) as a new or given array."""
        out = np.empty(n, np.float32) if out is None else out[:n]
        i = start & self.mask
        n1 = min(n, self.capacity - i)
        out[:n1] = self.buf[i:i + n1]
        if n1 < n:
            out[n1:] = self.buf[:n - n1]
        return out
