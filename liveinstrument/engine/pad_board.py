"""Pad board: every pad's newest render state in shared memory, newest wins by construction.

The engine (one writer, under its pad lock) overwrites a pad's row; the renderer process
reads whichever rows changed since it last looked. A storm of slider changes therefore
leaves at most one render per pad to do, whatever the rate: nothing queues up behind a
pipe. A replacement renderer (after a crash) finds the current state of every pad here.

Each row is a seqlock (odd while written): the reader copies a row only when it sees the
same even count before and after. A header counter (``CHANGES``) moves on every write, so
the renderer can ask "anything new?" with one load (it preempts background renders on it).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..signal import LATENT_DIM, N_CLASSES

SEQ, VERSION = 0, 1
Z0 = 2
C0 = Z0 + LATENT_DIM
TUNE, DECAY, RR, SEED, T_SUBMIT, HAS_RAW = range(C0 + N_CLASSES, C0 + N_CLASSES + 6)
ROW = HAS_RAW + 1
CHANGES, WAKE = 0, 1            # header cells


@dataclass
class BoardEntry:
    """One pad's render state as read from the board."""
    pad: int
    version: int
    z: np.ndarray
    c: np.ndarray
    tune_st: float
    decay: float
    round_robin: float
    seed: int
    t_submit: float
    has_raw: bool


class PadBoard:
    """Views onto two shared float64 arrays (``multiprocessing`` RawArrays: picklable to a
    spawned child at its start, freed with the last process that maps them)."""

    def __init__(self, n_pads: int, header=None, rows=None, ctx=None):
        fresh = rows is None
        if fresh:
            import multiprocessing as mp
            ctx = ctx or mp.get_context("spawn")
            header = ctx.RawArray("d", 4)
            rows = ctx.RawArray("d", n_pads * ROW)
        self.n_pads = n_pads
        self._raw = (header, rows)
        self.hdr = np.frombuffer(header, np.float64)
        self.rows = np.frombuffer(rows, np.float64).reshape(n_pads, ROW)
        if fresh:
            self.rows[:, VERSION] = -1

    def shared(self) -> tuple:
        """What a child process needs to map the same board (pass as a Process argument)."""
        return (self.n_pads, *self._raw)

    @classmethod
    def attach(cls, n_pads: int, header, rows) -> "PadBoard":
        return cls(n_pads, header, rows)

    # ------------------------------------------------------------ writer (engine)
    def write(self, pad: int, version: int, z, c, tune_st: float, decay: float, round_robin: float,
              seed: int, has_raw: bool = False, t_submit: float | None = None) -> None:
        r = self.rows[pad]
        r[SEQ] += 1
        r[Z0:C0] = z
        r[C0:TUNE] = c
        r[TUNE], r[DECAY], r[RR], r[SEED] = tune_st, decay, round_robin, float(seed)
        r[T_SUBMIT] = time.perf_counter() if t_submit is None else t_submit
        r[HAS_RAW] = 1.0 if has_raw else 0.0
        r[VERSION] = version
        r[SEQ] += 1
        self.hdr[CHANGES] += 1

    def request_wake(self) -> bool:
        """True when the reader has no wake-up outstanding (send one); marks one outstanding."""
        if self.hdr[WAKE]:
            return False
        self.hdr[WAKE] = 1.0
        return True

    # ------------------------------------------------------------ reader (renderer)
    def changes(self) -> int:
        return int(self.hdr[CHANGES])

    def clear_wake(self) -> None:
        """Reader: about to look at the rows; a write after this sends a new wake-up."""
        self.hdr[WAKE] = 0.0

    def versions(self) -> np.ndarray:
        return self.rows[:, VERSION].astype(np.int64)

    def read(self, pad: int, tries: int = 1000) -> BoardEntry | None:
        """A consistent copy of the pad's row, or None when never written (or the writer
        kept it busy for ``tries`` attempts, which a single short writer cannot)."""
        r = self.rows[pad]
        for _ in range(tries):
            s = r[SEQ]
            if int(s) & 1:
                continue
            row = r.copy()
            if r[SEQ] == s:
                if row[VERSION] < 0:
                    return None
                return BoardEntry(pad, int(row[VERSION]), row[Z0:C0].astype(np.float32),
                                  row[C0:TUNE].astype(np.float32), float(row[TUNE]), float(row[DECAY]),
                                  float(row[RR]), int(row[SEED]), float(row[T_SUBMIT]), bool(row[HAS_RAW]))
        return None
