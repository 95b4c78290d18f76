"""Capture engine offline (no audio device, no torch): beatbox triggers, velocity, arming,
bad input, overruns, and the captured audio in the kit file."""
from __future__ import annotations

import re

import numpy as np

from liveinstrument.capture import Capture
from liveinstrument.capture.vocal_synth import hit, make_recording

SR = 44_100


class StubInstrument:
    """What Capture uses of Instrument (recorded, so the tests can read what it asked for):
    sample_rate, trigger, the capture arm it owns, attach/detach, has_encoder, analyze_audio.
    A stand-in so these tests run without a renderer process; tests/test_capture_jack.py
    drives the real Instrument."""

    def __init__(self):
        self.sample_rate = SR
        self.capture_armed = None
        self.triggers: list[tuple[int, float]] = []
        self.analyzed: list[tuple[int, int, bool]] = []
        self.has_encoder = True
        self.capture = None

    def action(self, pad, name):
        assert name == "capture"
        self.capture_armed = pad

    def take_capture_arm(self):
        armed, self.capture_armed = self.capture_armed, None
        return armed

    def attach_input(self, capture):
        self.capture = capture

    def detach_input(self, capture):
        if self.capture is capture:
            self.capture = None

    def trigger(self, pad, vel):
        self.triggers.append((pad, vel))

    def analyze_audio(self, pad, audio, sr, keep_classes=False):
        self.analyzed.append((pad, audio.size, keep_classes))


def test_beatbox_triggers_class_pads():
    inst = StubInstrument()
    cap = Capture(inst, beatbox=True, class_pads=(5, 6, 7), decision_ms=6.0)
    labels = ["kick", "snare", "cymbal"] * 4
    rec = make_recording(np.random.default_rng(11), labels=labels, ioi_s=(0.2, 0.4), level_db=(-18, -6))
    cap.feed(rec.audio)
    pads = [p for p, _ in inst.triggers]
    assert pads == [{"kick": 5, "snare": 6, "cymbal": 7}[c] for c in labels]
    assert all(e["decision_delay_ms"] <= 6.0 + 128 * 1000 / SR + 1e-6 for e in cap.log)


def test_velocity_follows_level():
    inst = StubInstrument()
    cap = Capture(inst, beatbox=True)
    h = hit("snare", np.random.default_rng(2))
    x = np.zeros(2 * SR, np.float32)
    for i, g in enumerate((0.9, 0.3, 0.05)):
        o = 2000 + i * int(0.5 * SR)
        x[o:o + h.size] += g * h
    cap.feed(x)
    v = [vel for _, vel in inst.triggers]
    assert len(v) == 3 and v[0] > v[1] > v[2] > 0.0 and v[0] > 0.9


def test_armed_capture_window_ends_at_next_onset():
    inst = StubInstrument()
    cap = Capture(inst, beatbox=False)
    rec = make_recording(np.random.default_rng(4), labels=["snare", "kick", "cymbal"], ioi_s=(0.25, 0.25),
                         lead_s=0.3)
    inst.action(3, "capture")
    cap.feed(rec.audio[:rec.onsets[0] - 1000])
    assert inst.capture_armed == 3 and not inst.analyzed        # nothing yet: no onset
    cap.feed(rec.audio[rec.onsets[0] - 1000:])
    assert inst.capture_armed is None
    assert len(inst.analyzed) == 1
    pad, n, keep = inst.analyzed[0]
    assert pad == 3 and not keep
    assert abs(n - (rec.onsets[1] - rec.onsets[0]) - cap.pre_roll) <= 0.003 * SR


def test_long_sound_capture_is_capped_at_one_shot_length():
    from liveinstrument.signal import N_SAMPLES
    inst = StubInstrument()
    cap = Capture(inst)
    inst.action(1, "capture")
    x = np.concatenate([np.zeros(SR // 4), 0.3 * np.random.default_rng(0).standard_normal(3 * SR)])
    cap.feed(x.astype(np.float32))
    assert len(inst.analyzed) == 1 and inst.analyzed[0][1] <= N_SAMPLES + cap.pre_roll


def test_meter_clipping_nan_and_overrun():
    inst = StubInstrument()
    cap = Capture(inst, beatbox=True)
    t = np.arange(SR) / SR
    cap.feed(np.clip(2 * np.sin(2 * np.pi * 200 * t), -1, 1).astype(np.float32))
    m = cap.meter()
    assert m["clips"] > 100 and m["clipping"] and m["peak_dbfs"] > -0.1
    bad = np.full(256, np.nan, np.float32)
    cap.feed(bad)
    cap.feed(np.zeros(SR // 10, np.float32))
    assert cap.counters["nonfinite_blocks"] >= 1 and np.isfinite(cap.meter()["rms_dbfs"])
    # the analysis stalled for longer than the ring holds: counted, skipped, still working
    cap.ring.push(np.zeros(cap.ring.capacity + 1000, np.float32))
    cap.step()
    assert cap.counters["overruns"] == 1
    n0 = len(inst.triggers)
    cap.feed(make_recording(np.random.default_rng(1), labels=["kick", "snare"], noise_db=-80, dc=0.0).audio)
    assert len(inst.triggers) == n0 + 2


def test_refine_submits_keep_classes_once_per_interval():
    inst = StubInstrument()
    cap = Capture(inst, beatbox=True, refine=True, refine_interval_s=60.0)
    rec = make_recording(np.random.default_rng(9), labels=["kick", "kick", "snare"], ioi_s=(0.3, 0.3))
    cap.feed(np.concatenate([rec.audio, np.zeros(SR // 2, np.float32)]))
    assert sorted((p, k) for p, _, k in inst.analyzed) == [(1, True), (2, True)]


def test_captured_audio_saved_with_kit(tmp_path):
    from liveinstrument.engine.state import default_kit, load_captured, load_kit, save_kit
    pads = default_kit(3, 0)
    a = np.random.default_rng(0).standard_normal(5000).astype(np.float32) * 0.1
    kit = save_kit(tmp_path / "k.yaml", pads, "m", {}, captured={1: a})
    p2, _, _, doc = load_kit(kit)
    assert len(p2) == 3 and re.fullmatch(r"k_audio/capture02-[0-9a-f]{12}\.wav", doc["pads"][1]["captured"])
    got = load_captured(kit, doc)
    assert list(got) == [1] and np.allclose(got[1], a)
