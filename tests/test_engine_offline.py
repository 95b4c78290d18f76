"""Offline render, kit files and the synchronous renderer: real generator (untrained), no mocks."""
from __future__ import annotations

import mido
import numpy as np
import pytest
import soundfile as sf

from liveinstrument.engine.instrument import Instrument
from liveinstrument.control.common import Selection, Stats
from liveinstrument.control.mapping import load_mapping
from liveinstrument.control.midi_file import render_midi, render_with_router, timed_messages
from liveinstrument.control.midi_in import MidiRouter
from liveinstrument.engine.shm_ring import GEN

SR = 44_100


def make_midi(path, notes, tempo=500_000, tpb=480):
    """notes: (tick, note, velocity); returns the expected sample of each note-on."""
    mid = mido.MidiFile(ticks_per_beat=tpb)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    last = 0
    for tick, note, vel in sorted(notes):
        tr.append(mido.Message("note_on", note=note, velocity=vel, time=tick - last))
        tr.append(mido.Message("note_off", note=note, velocity=0, time=10))
        last = tick + 10
    mid.save(str(path))
    return [round(mido.tick2second(t, tpb, tempo) * SR) for t, _, _ in sorted(notes)]


@pytest.fixture(scope="module")
def small_inst(random_synth):
    with Instrument(n_pads=4, synchronous=True, synth=random_synth, seed=3) as inst:
        yield inst


def test_offline_hits_land_on_their_exact_sample(tmp_path, random_synth):
    # ticks chosen so hits are far from block boundaries and 0.8 s apart (silence before each)
    expected = make_midi(tmp_path / "p.mid", [(0 + 7, 36, 100), (800 + 3, 38, 127), (1600 + 11, 36, 40)])
    assert all(e % 128 != 0 for e in expected)
    with Instrument(n_pads=4, synchronous=True, synth=random_synth, seed=1) as inst:
        msgs = timed_messages(tmp_path / "p.mid", SR)
        assert [s for s, d in msgs if d[0] & 0xF0 == 0x90 and d[2] > 0] == expected
        router = MidiRouter(inst, load_mapping("gm-default"), Selection(4), Stats())
        audio = render_with_router(inst, router, msgs)
        assert inst.mixer.hits == 3 and inst.mixer.late_events == 0
    for s in expected:
        assert np.all(audio[s - 200:s] == 0.0), "sound before the hit"
        assert np.any(audio[s] != 0.0), f"hit not at sample {s}"
    assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) <= 1.0


def test_offline_render_is_deterministic_for_a_seed(tmp_path):
    make_midi(tmp_path / "p.mid", [(i * 120, 36 + (i % 3) * 2, 60 + i * 5) for i in range(10)])
    a = render_midi(tmp_path / "p.mid", tmp_path / "a.wav", seed=5, random_model=0)
    render_midi(tmp_path / "p.mid", tmp_path / "b.wav", seed=5, random_model=0)
    render_midi(tmp_path / "p.mid", tmp_path / "c.wav", seed=6, random_model=0)
    xa, sr = sf.read(tmp_path / "a.wav")
    xb, _ = sf.read(tmp_path / "b.wav")
    xc, _ = sf.read(tmp_path / "c.wav")
    assert sr == SR and a["hits"] == 10 and xa.shape[1] == 2
    np.testing.assert_array_equal(xa, xb)
    assert xa.shape != xc.shape or not np.array_equal(xa, xc)


def test_kit_round_trip_gives_identical_audio(tmp_path, random_synth):
    with Instrument(n_pads=3, synchronous=True, synth=random_synth, seed=7) as inst:
        inst.set_param(2, "tune", 0.3)
        inst.set_param(3, "decay", 0.4)
        inst.set_param(1, "variation", 0.6)
        inst.wait_ready()
        path = inst.save_kit(tmp_path / "kit.yaml")
        before = {p: _slot_audio(inst, p) for p in range(3)}
        inst.export_pad(2, tmp_path / "pad2.wav")
    text = path.read_text()
    assert "model_hash" in text and "tune: 0.3" in text
    # a different generator (other seed) must not change how the saved kit sounds
    from liveinstrument.synth import DrumSynth
    with Instrument(synchronous=True, synth=DrumSynth.random(99), kit=path) as inst2:
        inst2.wait_ready()
        assert inst2.n_pads == 3 and inst2.pads[1].tune == pytest.approx(0.3)
        for p in range(3):
            after = _slot_audio(inst2, p)
            assert len(after) == len(before[p])
            for x, y in zip(before[p], after):
                np.testing.assert_array_equal(x, y)
    w, sr = sf.read(tmp_path / "pad2.wav")
    assert sr == SR and w.ndim == 1 and 1000 < w.size and np.max(np.abs(w)) > 0.05


def _slot_audio(inst, p):
    m = inst.ring.slot_map[p]
    return [inst.ring.audio[p, b, :inst.ring.buf_len[p, b]].copy() for b in m]


def test_sync_renderer_newest_request_wins(small_inst):
    inst = small_inst
    g0 = inst.generation(1)
    for v in np.linspace(0.0, 1.0, 6):
        inst.set_param(1, "kick", float(v))
    inst.wait_ready()
    assert inst.generation(1) > g0
    assert inst.ring.hdr[0, GEN] == inst._want_version[0]


def test_bad_input_never_raises(small_inst):
    inst = small_inst
    n = inst.counters["bad_input"]
    inst.trigger(0, 1.0)
    inst.trigger(99, 1.0)
    inst.trigger("x", 1.0)
    inst.trigger(1, "loud")
    inst.set_param(1, "nope", 0.5)
    inst.set_param(1, "kick", float("nan"))
    inst.set_global("volume", 1.0)
    inst.action(1, "explode")
    inst.set_param(1, "gain", 7.0)           # clamped, not rejected
    assert inst.pads[0].gain == 1.0
    assert inst.counters["bad_input"] - n == 8
    s = inst.state()
    assert len(s["pads"]) == 4 and "counters" in s


def test_render_applies_the_mappings_velocity_curve_and_channel(tmp_path, random_synth):
    """The router runs offline too: a mapping's velocity curve and channel filter change the render."""
    from liveinstrument.control.mapping import parse_mapping
    make_midi(tmp_path / "v.mid", [(0, 36, 64)])
    base = "midi:\n  channel: {ch}\n  velocity: {{curve: {curve}}}\n  notes:\n    36: {{trigger: 1}}\n"
    peaks = {}
    for key, ch, curve in (("lin", "any", "linear"), ("log", "any", "log"), ("ch10", 10, "linear")):
        with Instrument(n_pads=2, synchronous=True, synth=random_synth, seed=1) as inst:
            inst.set_param(1, "round_robin", 0.0)
            router = MidiRouter(inst, parse_mapping(base.format(ch=ch, curve=curve)), Selection(2), Stats())
            audio = render_with_router(inst, router, timed_messages(tmp_path / "v.mid", SR))
            peaks[key] = float(np.max(np.abs(audio))) if audio.size else 0.0
    assert peaks["ch10"] == 0.0                       # the file plays on channel 1: filtered out
    assert peaks["log"] > peaks["lin"] > 0.0          # 'log' lifts a mid velocity
