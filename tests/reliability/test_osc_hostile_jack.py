"""Hostile OSC against the running instrument, heard on a JACK recorder.

``drumgan live`` (subprocess, untrained generator, native JACK backend, ``--per-pad-outputs``)
on a JACK dummy server; ``jack_player.py`` (its own process) sends the packets over real UDP
from its JACK callback, so each leaves at a known JACK frame, and records the mix and every
pad's own output. First the 28-byte bundle that wedges python-osc (OSC must keep answering);
then 3,000 fuzz packets at 1,250/s (``DRUMGAN_LONG=1``: the issue's 100,000 at 2,500/s) --
random bytes, truncated messages, bundles with random element sizes, deep nesting, wrong type
tags, well-formed parameter changes and bad names, the wedge bundle again every 1,000 -- and,
every 26 cycles, a valid trigger for the next pad in turn. The fuzz holds no trigger, so
the recording must hold exactly the valid hits: each starts a sound on its pad, nothing else
does, the instrument counts as many, output finite and within full scale, OSC still answers.
(tests/reliability/test_osc_hostile.py runs the same fuzz with null audio and the signals.)
"""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

from .live_rig import N_PADS, OSC, LiveJack, Schedule, check_hits, osc_msg, play
from .osc_fuzz import WEDGE, fuzz_packet

pytestmark = [pytest.mark.jack, pytest.mark.slow]
LONG = bool(os.environ.get("DRUMGAN_LONG"))
N_FUZZ, RATE = (100_000, 2_500.0) if LONG else (3_000, 1_250.0)
SPACING = 26          # cycles between valid triggers: a pad comes round every 1.2 s
MAX_CYCLES = 70       # a trigger's sound may start up to 200 ms after it was sent (OSC thread, busy cores)


def test_wedge_and_fuzz_every_valid_trigger_sounds(jack_server, tmp_path) -> None:
    cps = jack_server.rate / jack_server.period
    live = LiveJack(jack_server.name, tmp_path / "live.log", duration=300)
    try:
        st0 = live.wait_ready()
        live.send(WEDGE)
        assert live.ask("/drumgan/ping") is not None, "OSC wedged by the malformed bundle"
        rng = random.Random(7)
        sch, valid = Schedule(), []
        last = int(N_FUZZ * cps / RATE)
        for i in range(N_FUZZ):
            sch.add(int(i * cps / RATE), rng.randrange(jack_server.period), OSC,
                    WEDGE if i % 1000 == 999 else fuzz_packet(rng, triggers=False))
        for c in range(0, last + 1, SPACING):
            pad = len(valid) % N_PADS + 1
            valid.append((sch.add(c, rng.randrange(jack_server.period), OSC,
                                  osc_msg(f"/drumgan/pad/{pad}/trigger", 0.7 + 0.3 * rng.random())), pad))
        rec, where = play(jack_server.name, sch, tmp_path, osc_port=live.port)
        assert live.proc.poll() is None, "drumgan live died under the fuzz"
        assert live.ask("/drumgan/ping") is not None, "OSC stopped answering after the fuzz"
        st1 = live.state()
    finally:
        live.close()
    sent = rec["sent"]
    assert (sent >= 0).all(), "the player could not send everything"
    got = check_hits(rec, [int(sent[where[i]]) for i, _ in valid], [p for _, p in valid], MAX_CYCLES)
    hits = st1["counters"]["hits"] - st0["counters"]["hits"]
    lat = np.array(got["latency_cycles"])
    print(f"\nOSC fuzz: {N_FUZZ:,} packets at {RATE:,.0f}/s + {len(valid)} valid triggers; hits {hits}, "
          f"found on their pads {got['found']}, lost {len(valid) - got['found']}, unexpected onsets "
          f"{got['unexpected']}; onset cycles after the send cycle p50 {np.median(lat):.0f} max {lat.max()}; "
          f"mix peak {got['mix_peak']:.3f}; player xruns {int(rec['xruns'])}")
    assert not got["missing"], f"valid triggers that did not sound (frame, pad, peak before, after): {got['missing'][:10]}"
    assert got["unexpected"] == 0, "sounds nobody sent a valid trigger for"
    assert hits == len(valid), f"the instrument counted {hits} hits for {len(valid)} valid triggers"
    assert got["finite"] and got["mix_peak"] <= 1.0 and got["pad_peak"] <= 1.0
    assert st1["counters"]["nonfinite_blocks"] == 0
    assert live.log().count("\n") < 200, "log flood"
