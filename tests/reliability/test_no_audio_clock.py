"""An Instrument whose renderer is a process but which no audio output runs: only the audio
callback frees ring buffers, so after the spare buffers are used renders stall. The
instrument must say so in one clear line (real renderer process, untrained generator)."""
from __future__ import annotations

import logging

import pytest

from liveinstrument.engine.instrument import Instrument

pytestmark = pytest.mark.slow


def test_renders_stalled_without_an_audio_clock_are_explained(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="drumgan.engine")
    with Instrument(n_pads=1, random_model=0, n_slots=1) as inst:
        assert inst.wait_ready(120)                  # the first sounds fit the free buffers
        stalled = False
        for i in range(2 * inst.ring.layout.n_bufs):  # more changes than buffers
            inst.set_param(1, "kick", (i % 10) / 10 + 0.05)
            if not inst.wait_ready(3.0):
                stalled = True
                break
        assert stalled, "renders kept landing without an audio clock: the premise of this test is gone"
        lines = [r.getMessage() for r in caplog.records if "no audio clock" in r.getMessage()]
        assert len(lines) == 1 and "NullOut" in lines[0], lines
        inst.wait_ready(0.1)
        assert len([r for r in caplog.records if "no audio clock" in r.getMessage()]) == 1   # said once
