"""Augmentation: effects do what they say, chains keep the one-shot format."""
import numpy as np
import pytest

from liveinstrument import signal as S
from liveinstrument.data import augment as A
from liveinstrument.data import procedural as P

SR = S.SAMPLE_RATE


def _dominant_hz(x: np.ndarray) -> float:
    n = 1 << 18  # zero padding: ~0.17 Hz bins
    mag = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    return float(np.argmax(mag) * SR / n)


def _sine(f: float, n: int = S.N_SAMPLES) -> np.ndarray:
    return np.sin(2 * np.pi * f * np.arange(n) / SR).astype(np.float32)


def _decaying_burst(rng, n: int, at: int, t40_s: float = 0.1) -> np.ndarray:
    x = np.zeros(n, dtype=np.float32)
    t = np.arange(n - at) / SR
    x[at:] = rng.standard_normal(n - at) * np.exp(-t * np.log(100) / t40_s)
    return x


@pytest.mark.parametrize("semitones, ratio", [(12, 2.0), (-12, 0.5), (3, 2 ** 0.25)])
def test_pitch_shift_scales_frequency_and_duration(semitones, ratio):
    x = _sine(440.0)
    y = A.pitch_shift(x, semitones)
    assert y.dtype == np.float32 and y.size == round(x.size / ratio)
    assert _dominant_hz(y) == pytest.approx(440.0 * ratio, rel=0.02)
    assert np.max(np.abs(y[y.size // 4: -y.size // 4])) == pytest.approx(1.0, abs=0.02)


def test_time_stretch_envelope_scales_decay_keeps_pitch():
    x = _sine(200.0) * np.exp(-np.arange(S.N_SAMPLES) / SR * np.log(100) / 0.1).astype(np.float32)
    d0 = P.sound_features(x)["decay_s"]
    longer = A.time_stretch_envelope(x, 2.0)
    shorter = A.time_stretch_envelope(x, 0.5)
    assert P.sound_features(longer)["decay_s"] == pytest.approx(2 * d0, rel=0.15)
    assert P.sound_features(shorter)["decay_s"] == pytest.approx(0.5 * d0, rel=0.15)
    assert _dominant_hz(longer) == pytest.approx(200.0, rel=0.02)
    assert np.max(np.abs(longer)) == pytest.approx(np.max(np.abs(x)), rel=0.01)  # attack untouched
    assert np.array_equal(A.time_stretch_envelope(x, 1.0), x)


def test_gain_filter_saturate():
    x = _sine(1000.0)
    assert np.max(np.abs(A.gain(x, 6.0))) == pytest.approx(10 ** 0.3, rel=1e-3)
    steady = slice(S.N_SAMPLES // 2, None)
    assert np.max(np.abs(A.filter(_sine(8000.0), "lowpass", 1000.0)[steady])) < 0.03
    assert np.max(np.abs(A.filter(_sine(50.0), "highpass", 1000.0)[steady])) < 0.01
    low_boost = A.filter(_sine(50.0), "lowshelf", 500.0, 6.0)[steady]
    high_cut = A.filter(_sine(15000.0), "highshelf", 2000.0, -6.0)[steady]
    assert np.max(np.abs(low_boost)) == pytest.approx(2.0, rel=0.02)  # +6 dB
    assert np.max(np.abs(high_cut)) == pytest.approx(0.5, rel=0.03)  # -6 dB
    with pytest.raises(ValueError):
        A.filter(x, "bandstop", 1000.0)
    sat = A.saturate(0.5 * x, 12.0)
    assert np.max(np.abs(sat)) == pytest.approx(0.5, rel=1e-4)  # peak kept
    assert np.mean(np.abs(sat)) > np.mean(np.abs(0.5 * x)) * 1.2  # denser
    assert np.array_equal(np.sign(sat), np.sign(0.5 * x))


def test_layer_aligns_onsets():
    a = np.zeros(5000, dtype=np.float32)
    b = np.zeros(8000, dtype=np.float32)
    a[100], b[3000] = 1.0, -2.0
    y = A.layer(a, b, 0.5)
    assert np.max(np.abs(y)) < 1e-6  # +0.5 and -0.5 cancel exactly only when aligned
    a[100], b[3000] = 1.0, 2.0
    y = A.layer(a, b, 0.25)
    assert np.flatnonzero(np.abs(y) > 1e-6).tolist() == [S.FADE_IN]
    assert y[S.FADE_IN] == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    ra, rb = _decaying_burst(rng, 6000, 700), _decaying_burst(rng, 9000, 2500)
    y = A.layer(ra, rb, 0.5)
    assert S.find_onset(y) == S.FADE_IN and y.size >= 9000 - 2500


def test_augment_format_determinism_and_class_constraint():
    sounds, labels, _ = P.synth_set(4, seed=2)
    for i, (x, cls) in enumerate(zip(sounds, labels)):
        partner = sounds[(i // 4) * 4]  # first sound of the same class
        y = A.augment(x, np.random.default_rng(i), cls=cls, partner=partner)
        assert y.shape == (S.N_SAMPLES,) and y.dtype == np.float32 and np.isfinite(y).all()
        assert np.max(np.abs(y)) == pytest.approx(1.0, abs=1e-6)
        assert np.array_equal(y, A.augment(x, np.random.default_rng(i), cls=cls, partner=partner))
    x = sounds[0]
    assert not np.allclose(A.augment(x, np.random.default_rng(0), cls="kick"),
                           A.augment(x, np.random.default_rng(1), cls="kick"))
    # strength 0: only fit and normalise
    np.testing.assert_allclose(A.augment(x, np.random.default_rng(0), 0.0, "kick"),
                               S.peak_normalize(S.fit_one_shot(x)), atol=1e-5)


def test_augment_set_shapes_sources_and_kicks_stay_low():
    sounds, labels, _ = P.synth_set(6, seed=9)
    out, lab, src = A.augment_set(sounds, labels, np.random.default_rng(0), copies=3)
    assert out.shape == (54, S.N_SAMPLES) and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(np.abs(out).max(axis=1), 1.0, atol=1e-6)
    assert src.tolist() == np.repeat(np.arange(18), 3).tolist()
    assert lab == [labels[i] for i in src]
    lab = np.array(lab)
    cent = {c: np.median([P.sound_features(x)["centroid_hz"] for x in out[lab == c]]) for c in S.CLASSES}
    low = np.median([P.sound_features(x)["low_ratio"] for x in out[lab == "kick"]])
    assert cent["kick"] < cent["snare"] < cent["cymbal"] and low > 0.6
    with pytest.raises(ValueError):
        A.augment_set(sounds, labels[:-1], np.random.default_rng(0), 2)
