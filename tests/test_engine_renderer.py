"""Renderer process: coalescing of parameter floods, newest value wins, old sound plays meanwhile."""
from __future__ import annotations

import time

import numpy as np

from liveinstrument.engine.audio_out import NullOut
from liveinstrument.engine.instrument import Instrument


def test_param_flood_coalesces_and_newest_wins():
    with Instrument(n_pads=2, random_model=0, seed=4) as inst, NullOut(inst):
        inst.set_param(0, "round_robin", 0.0)       # main sounds only: counts are easy to read
        assert inst.wait_ready(60)
        before = inst.renderer.stats()["generated"]
        values = np.linspace(0.0, 1.0, 200)
        for v in values:                             # a CC flood, faster than any render
            inst.set_param(1, "snare", float(v))
        newest = inst._want_version[0]
        # meanwhile the pad still has its old, complete sound
        assert inst.mixer.ready(0)
        assert inst.wait_ready(30)
        time.sleep(0.05)
        st = inst.renderer.stats()
        assert inst.generation(1) == newest
        assert st["generated"] - before < 50, f"{st['generated'] - before} renders for 200 changes"
        assert inst.pads[0].snare == 1.0
