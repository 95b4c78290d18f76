"""MIDI fuzz through a real JACK MIDI port against the running instrument.

``drumgan live`` (a subprocess, untrained generator, the native JACK backend reading its own
``drumgan:midi_in``) on a JACK dummy server; ``jack_player.py`` (its own process) writes the
fuzz into that port and records the mix and every pad's own output (``--per-pad-outputs``).
The fuzz: random bytes, truncated messages, unterminated and long sysex, running-status data,
real-time bytes alone and inside messages, wrong channels, system common, channel-10 messages
that play nothing; interleaved, a valid note-on every 26 cycles for the next pad in turn, in
hostile forms too (right after ``F0 7E 01``, real-time bytes inside, running status...).
Fuzz the MIDI rules say would sound is drawn again (midi_fuzz.py), so the recording must
hold exactly the valid notes: each one starts a sound on its pad, nothing else does, the
instrument counts as many hits, the parser delivers exactly the messages the rules deliver,
the output is finite and within full scale, and the run ends at ``--duration``.

3,000 fuzz events by default; ``DRUMGAN_LONG=1`` sends the issue's 100,000.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from .live_rig import LiveJack, check_hits, play
from .midi_fuzz import MAPPING, build

pytestmark = [pytest.mark.jack, pytest.mark.slow]
LONG = bool(os.environ.get("DRUMGAN_LONG"))
N_FUZZ, PER_CYCLE = (100_000, 5) if LONG else (3_000, 2)
DURATION = 30       # s of --duration before the fuzz's own time: start-up and 16 renders on 2 busy cores
SPACING = 26        # cycles between valid notes: a pad comes round every 1.2 s, after its sound ended


def test_midi_fuzz_every_valid_note_sounds(jack_server, tmp_path) -> None:
    plan = build(N_FUZZ, PER_CYCLE, SPACING, period=jack_server.period)
    play_s = (plan.schedule.items[-1][0] + 400) * jack_server.period / jack_server.rate
    mapping = tmp_path / "fuzz.yaml"
    mapping.write_text(MAPPING)
    live = LiveJack(jack_server.name, tmp_path / "live.log", duration=DURATION + play_s,
                    extra=["--mapping", str(mapping)])
    try:
        st0 = live.wait_ready()
        ready_left = live.left_s()
        assert live.left_s() > play_s + 5, (f"the instrument took too long to render its pads: "
                                            f"{live.left_s():.0f} s of --duration left")
        rec, where = play(jack_server.name, plan.schedule, tmp_path)
        assert live.proc.poll() is None, "drumgan live died under the fuzz"
        st1 = live.state()
        sent = rec["sent"]
        assert int(rec["midi_errors"]) == 0 and (sent >= 0).all(), "the player could not send everything"
        got = check_hits(rec, [int(sent[where[i]]) for i, _ in plan.valid], [p for _, p in plan.valid])
        summary = live.wait_exit()
    finally:
        live.close()
    hits = st1["counters"]["hits"] - st0["counters"]["hits"]
    lat = np.array(got["latency_cycles"])
    print(f"\nMIDI fuzz: {plan.fuzz_events:,} fuzz events + {len(plan.valid)} valid notes "
          f"({plan.messages:,} messages by the rules, {plan.redrawn} sounding draws redrawn); "
          f"hits {hits}, found on their pads {got['found']}, notes lost {len(plan.valid) - got['found']}, "
          f"unexpected onsets {got['unexpected']}; onset cycles after the send cycle "
          f"p50 {np.median(lat):.0f} max {lat.max()}; mix peak {got['mix_peak']:.3f}, pad peak "
          f"{got['pad_peak']:.3f}; parser delivered {summary['midi_in']:,}, dropped {summary['midi_dropped']}; "
          f"player xruns {int(rec['xruns'])}, instrument xruns {summary['xruns']}; "
          f"ready with {ready_left:.0f} s of --duration left")
    assert not got["missing"], f"valid notes that did not sound (frame, pad, peak before, after): {got['missing'][:10]}"
    assert got["unexpected"] == 0, "sounds nobody sent a valid note for"
    assert hits == len(plan.valid), f"the instrument counted {hits} hits for {len(plan.valid)} valid notes"
    assert summary["midi_in"] == plan.messages and summary["midi_dropped"] == 0, summary
    assert got["finite"] and got["mix_peak"] <= 1.0 and got["pad_peak"] <= 1.0
    assert st1["counters"]["nonfinite_blocks"] == 0
