"""Onset detector, offline: precision/recall on synthetic labelled recordings, bad input.

The recordings are synthesized vocal-percussion-like hits (capture/vocal_synth.py)
and espeak-ng syllables: stand-ins with exactly known onsets, not real beatboxing.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from liveinstrument.capture.onset import detect_onsets, precision_recall
from liveinstrument.capture.vocal_synth import make_recording

SR = 44_100
TOL = int(0.010 * SR)           # +-10 ms


def test_precision_recall_on_synthetic_recording():
    P, R = [], []
    for seed in (101, 102):
        rec = make_recording(np.random.default_rng(seed), 50)
        p, r, _ = precision_recall(detect_onsets(rec.audio), rec.onsets, TOL)
        P.append(p)
        R.append(r)
    assert np.mean(P) >= 0.95 and np.mean(R) >= 0.93, (P, R)


def test_onset_timing_is_within_two_ms():
    rec = make_recording(np.random.default_rng(7), 40, ioi_s=(0.3, 0.5), level_db=(-20, -6))
    d = detect_onsets(rec.audio)
    err = np.array([d[np.argmin(np.abs(d - t))] - t for t in rec.onsets])
    assert np.all(np.abs(err) <= TOL)
    assert np.percentile(np.abs(err), 90) <= 0.002 * SR, err


def test_block_size_does_not_change_the_result():
    rec = make_recording(np.random.default_rng(3), 20)
    a = detect_onsets(rec.audio, chunk=64)
    for chunk in (128, 333, 4096):
        assert np.array_equal(a, detect_onsets(rec.audio, chunk=chunk))


def test_silence_dc_noise_long_sounds():
    rng = np.random.default_rng(0)
    assert detect_onsets(np.zeros(2 * SR, np.float32)).size == 0
    assert detect_onsets(np.full(2 * SR, 0.5, np.float32)).size == 0                  # DC from the start
    assert detect_onsets((10 ** (-70 / 20) * rng.standard_normal(2 * SR)).astype(np.float32)).size == 0
    t = np.arange(3 * SR) / SR
    lead = np.zeros(SR // 2)
    for sound in (0.5 * np.sin(2 * np.pi * 110 * t),                                  # held tone
                  0.3 * rng.standard_normal(t.size),                                  # held noise / hiss
                  np.clip(4 * np.sin(2 * np.pi * 220 * t), -1, 1)):                   # held, clipped
        d = detect_onsets(np.concatenate([lead, sound]).astype(np.float32))
        assert d.size == 1 and abs(int(d[0]) - lead.size) <= TOL, d


def test_retrigger_guard():
    """A flam 20 ms apart is one onset; 80 ms apart it is two."""
    from liveinstrument.capture.vocal_synth import hit
    h = hit("snare", np.random.default_rng(1)) * 0.5
    for gap_ms, want in ((20, 1), (80, 2)):
        x = np.zeros(SR, np.float32)
        g = int(gap_ms * SR / 1000)
        x[1000:1000 + h.size] += h
        x[1000 + g:1000 + g + h.size] += h
        assert detect_onsets(x).size == want, gap_ms


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_espeak_syllables(tmp_path):
    """espeak-ng renders the plosives/sibilant "p", "k", "ts" (a speech synthesizer, not a beatboxer)."""
    import soundfile as sf
    from liveinstrument.audio_io import resample
    clips = []
    for ph in ("[[p]]", "[[k]]", "[[ts]]"):
        f = tmp_path / "s.wav"
        subprocess.run(["espeak-ng", "-w", str(f), ph], check=True, capture_output=True)
        x, sr = sf.read(str(f), dtype="float32")
        x = resample(x, sr, SR)
        a = np.abs(x)
        on = int(np.flatnonzero(a >= 0.1 * a.max())[0])
        clips.append(x[max(0, on - 200):] / a.max() * 0.5)
    seq = [0, 1, 2, 0, 2, 1, 0, 2]
    x = np.zeros(int(0.3 * SR) * len(seq) + SR, np.float32)
    truth = []
    for i, c in enumerate(seq):
        o = int(0.2 * SR) + i * int(0.3 * SR)
        seg = clips[c][:int(0.28 * SR)]
        x[o:o + seg.size] += seg
        a = np.abs(seg)
        truth.append(o + int(np.flatnonzero(a >= 0.1 * a.max())[0]))
    # espeak's "ts" puts the s 50 ms after the t (a performer's is closer): an 80 ms guard
    d = detect_onsets(x, guard_s=0.08)
    p, r, _ = precision_recall(d, truth, TOL)
    assert p >= 0.85 and r >= 0.85, (d, truth)
