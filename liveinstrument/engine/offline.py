"""Offline render: the live engine's core run block by block, sample-accurately.

Same Instrument, same renderer code, same C core as ``drumgan live``; the renderer runs
synchronously between blocks, so the result is deterministic for a seed. Events carry
sample times on the core's clock, which offline starts at 0 and advances one block per
``process`` call, so a hit at sample s starts exactly at s. ``drumgan render`` feeds a
MIDI file through the control layer's ``MidiRouter`` into :func:`render_timed`
(``liveinstrument.control.midi_file``); :func:`render_hits` plays a hit list directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .instrument import Instrument


@dataclass
class Hit:
    sample: int
    pad: int          # 1-based
    velocity: float


def render_timed(inst: Instrument, feed_until: Callable[[int], int], last_sample: int,
                 blocksize: int = 128, tail_s: float = 1.0) -> np.ndarray:
    """Run the core block by block. Before each block, ``feed_until(end)`` sends every event
    with a sample time before ``end`` (through ``Instrument.trigger(..., at=sample)``) and
    returns how many it sent. Returns [frames, 2] up to the last non-zero sample."""
    inst.wait_ready()
    end = last_sample + inst.ring.layout.buf_len + int(tail_s * inst.sample_rate)
    n_blocks = -(-end // blocksize)
    out = np.zeros((n_blocks * blocksize, 2), np.float32)
    t0 = inst.mixer.now_frame()                  # the core's clock (0 for a fresh instrument)
    for b in range(n_blocks):
        start = b * blocksize
        sent = feed_until(t0 + start + blocksize)
        inst.mixer.process(blocksize, out[start:start + blocksize])
        if sent:
            inst.renderer.service()     # refill played round-robin slots, as the live renderer does
    last = np.flatnonzero(np.any(out != 0.0, axis=1))
    return out[: (int(last[-1]) + 1 if last.size else 0)]


def render_hits(inst: Instrument, hits: list[Hit], blocksize: int = 128, tail_s: float = 1.0) -> np.ndarray:
    """Play ``hits`` (sample times from the start of the render). Returns [frames, 2]."""
    hits = sorted(hits, key=lambda h: h.sample)
    t0 = inst.mixer.now_frame()
    pos = [0]

    def feed_until(end: int) -> int:
        i0 = pos[0]
        while pos[0] < len(hits) and t0 + hits[pos[0]].sample < end:
            h = hits[pos[0]]
            inst.trigger(h.pad, h.velocity, at=t0 + h.sample)
            pos[0] += 1
        return pos[0] - i0

    return render_timed(inst, feed_until, hits[-1].sample if hits else 0, blocksize, tail_s)
