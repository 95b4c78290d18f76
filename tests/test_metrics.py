"""Known-answer tests for liveinstrument.eval.metrics."""
from __future__ import annotations

import math

import numpy as np
import pytest

from liveinstrument import signal
from liveinstrument.eval import metrics as M


def _drum(n: int = signal.N_SAMPLES, seed: int = 0) -> np.ndarray:
    """A kick-like test sound: pitch-swept decaying sine plus a noise burst, peak 1."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / signal.SAMPLE_RATE
    x = np.sin(2 * np.pi * 60 * t * (1 + 2 * np.exp(-30 * t))) * np.exp(-8 * t)
    x = x + 0.5 * rng.standard_normal(n) * np.exp(-30 * t)
    return (x / np.abs(x).max()).astype(np.float32)


def _gaussian_with_exact_stats(n: int, mu: np.ndarray, cov: np.ndarray, seed: int) -> np.ndarray:
    """Samples whose sample mean and (ddof=1) covariance are exactly mu and cov."""
    z = np.random.default_rng(seed).standard_normal((n, mu.size))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whiten exactly
    return z @ np.linalg.cholesky(cov).T + mu


# ---------------------------------------------------------------- IS
@pytest.mark.parametrize("k", [2, 3, 5])
def test_inception_score_one_hot_uniform_is_k(k):
    probs = np.eye(k)[np.arange(12 * k) % k]
    mean, std = M.inception_score(probs)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == 0.0
    mean, std = M.inception_score(probs, n_splits=4)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_identical_rows_is_one():
    probs = np.tile([0.2, 0.5, 0.3], (50, 1))
    assert M.inception_score(probs)[0] == pytest.approx(1.0, abs=1e-12)


def test_inception_score_between_bounds():
    probs = np.random.default_rng(0).dirichlet([0.5, 0.5, 0.5], size=200)
    mean, std = M.inception_score(probs, n_splits=5)
    assert 1.0 < mean < 3.0 and std > 0.0


# ---------------------------------------------------------------- KID
def test_kid_identical_and_same_distribution_near_zero():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 16))
    same, _ = M.kid(a, a, n_subsets=10)
    assert abs(same) < 0.05  # -2 (mean diag - mean off-diag) / m, see the docstring
    b = rng.standard_normal((400, 16))
    other, std = M.kid(a, b, n_subsets=20, subset_size=200)
    assert abs(other) < 0.03 and std > 0.0


def test_kid_grows_with_shift():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 16))
    b = rng.standard_normal((300, 16))
    values = [M.kid(a, b + shift, n_subsets=10, subset_size=150)[0] for shift in (0.25, 0.5, 1.0)]
    assert values[0] > 0.05
    assert values[0] < values[1] < values[2]


def test_kid_rejects_bad_subset_size():
    a = np.zeros((5, 3))
    with pytest.raises(ValueError):
        M.kid(a, a, subset_size=6)


# ---------------------------------------------------------------- Fréchet
def test_frechet_identical_is_zero():
    a = np.random.default_rng(2).standard_normal((300, 12))
    assert M.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_matches_isotropic_closed_form():
    d = 8
    mu1, mu2 = np.zeros(d), np.linspace(-1.0, 1.0, d)
    s1, s2 = 1.0, 2.5
    a = _gaussian_with_exact_stats(500, mu1, s1 ** 2 * np.eye(d), seed=3)
    b = _gaussian_with_exact_stats(400, mu2, s2 ** 2 * np.eye(d), seed=4)
    expected = float(np.sum((mu1 - mu2) ** 2) + d * (s1 - s2) ** 2)
    assert M.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_matches_general_closed_form():
    # commuting diagonal covariances: Tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(v1) - sqrt(v2))^2
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.0, 5.0])
    expected = float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2))
    got = M.frechet_distance_from_stats(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-10)


def test_frechet_singular_covariances_finite():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((10, 32)), rng.standard_normal((10, 32)) + 0.5
    value = M.frechet_distance(a, b)
    assert math.isfinite(value) and value > 0.0


# ---------------------------------------------------------------- MSE / SNR
def test_mse_and_snr_known_values():
    ref = _drum().astype(np.float64)
    est = ref + 0.1 * ref
    assert M.snr_db(ref, est) == pytest.approx(20.0, abs=1e-9)
    assert M.mse(ref, est) == pytest.approx(float(np.mean((0.1 * ref) ** 2)))
    assert isinstance(M.snr_db(ref, est), float) and isinstance(M.mse(ref, est), float)


def test_snr_batch_and_guards():
    ref = np.stack([_drum(4096, 0), _drum(4096, 1), np.zeros(4096, np.float32)])
    est = ref.copy()
    est[1] = ref[1] - ref[1]  # reconstruction is silence: residual == signal -> 0 dB
    est[2] = 0.01
    snr = M.snr_db(ref, est)
    assert snr.shape == (3,)
    assert snr[0] == math.inf  # exact reconstruction: +inf, not a capped value
    assert snr[1] == pytest.approx(0.0, abs=1e-9)
    assert snr[2] == -math.inf  # silent reference, non-zero residual
    assert M.snr_db(np.zeros(8), np.zeros(8)) == math.inf
    np.testing.assert_allclose(M.mse(ref, est), [0.0, np.mean(ref[1].astype(np.float64) ** 2), 1e-4],
                               rtol=1e-5)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        M.mse(np.zeros(10), np.zeros(11))


# ---------------------------------------------------------------- LSD
def _lsd_by_definition(ref: np.ndarray, est: np.ndarray) -> float:
    """DESIGN.md §2 in plain numpy, independent of torch and signal.stft."""
    def power(x):
        x = x / np.abs(x).max()
        xp = np.pad(x.astype(np.float64), signal.N_FFT // 2, mode="reflect")
        n_frames = 1 + x.size // signal.HOP
        win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(signal.N_FFT) / signal.N_FFT)  # periodic Hann
        frames = np.stack([xp[t * signal.HOP:t * signal.HOP + signal.N_FFT] * win for t in range(n_frames)])
        return np.abs(np.fft.rfft(frames, axis=1)[:, :signal.N_BINS]) ** 2  # [frames, bins]

    p, q = power(ref), power(est)
    e = 1e-8 * p.max()
    per_frame = np.sqrt(np.mean((10 * np.log10(p + e) - 10 * np.log10(q + e)) ** 2, axis=1))
    return float(per_frame.mean())


def test_lsd_identical_and_gain_invariant():
    ref = _drum()
    assert M.lsd_db(ref, ref) == 0.0
    assert M.lsd_db(ref, 0.5 * ref) == pytest.approx(0.0, abs=1e-3)


def test_lsd_shift_positive_and_noise_vs_sine_large():
    ref = _drum()
    shifted = np.roll(ref, 1024)
    assert M.lsd_db(ref, shifted) > 1.0
    t = np.arange(signal.N_SAMPLES) / signal.SAMPLE_RATE
    sine = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    noise = np.random.default_rng(0).standard_normal(signal.N_SAMPLES).astype(np.float32)
    assert M.lsd_db(sine, noise) > 20.0


def test_lsd_matches_definition_and_batches():
    rng = np.random.default_rng(7)
    n = 6000  # 12 frames: small and fast
    ref = np.stack([_drum(n, 1), _drum(n, 2)])
    est = ref + 0.05 * rng.standard_normal(ref.shape).astype(np.float32)
    got = M.lsd_db(ref, est)
    assert isinstance(got, np.ndarray) and got.shape == (2,)
    expected = [_lsd_by_definition(ref[i], est[i]) for i in range(2)]
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert M.lsd_db(ref[1], est[1]) == pytest.approx(got[1])
    np.testing.assert_allclose(M.lsd_db(ref, est, chunk=1), got)


# ---------------------------------------------------------------- nearest neighbours
def test_nearest_neighbours_copy_vs_baseline():
    rng = np.random.default_rng(8)
    train = rng.standard_normal((50, 8))
    copies = train[[3, 17, 42]] * 2.0  # scaled copies: cosine distance 0
    d = M.nearest_neighbour_distances(copies, train)
    np.testing.assert_allclose(d, 0.0, atol=1e-12)
    dist, idx = M.nearest_neighbours(copies, train, metric="cosine")
    assert list(idx) == [3, 17, 42]
    base = M.nearest_neighbour_baseline(train)
    assert base.shape == (50,) and np.all(base > 0.0)
    l2 = M.nearest_neighbour_distances(train[:2] + 0.1, train, metric="l2")
    np.testing.assert_allclose(l2, np.sqrt(8 * 0.01), rtol=1e-6)
    # leave-one-out matches brute force
    full = np.linalg.norm(train[:, None] - train[None], axis=-1) + np.diag(np.full(50, np.inf))
    np.testing.assert_allclose(M.nearest_neighbour_baseline(train, metric="l2"), full.min(axis=1),
                               rtol=1e-6)


# ---------------------------------------------------------------- table
def test_format_table_shape():
    rows = [
        {"": "real data", "↑ IS": 1.86, "↓ KID": 0.004, "↓ FD": 0.09},
        {"": "DrumGAN Live", "↑ IS": (1.83, 0.02), "↓ KID": 0.009, "↓ FD": None},
    ]
    text = M.format_table(rows, ["", "↑ IS", "↓ KID", "↓ FD"], "Table 1. Generator metrics")
    lines = text.splitlines()
    assert lines[0] == "Table 1. Generator metrics"
    assert "0.004" in text and "1.83 ± 0.02" in text and "n/a" in text and "1.86" in text
    table = [ln for ln in lines if ln.startswith("|")]
    assert len(table) == 4 and len({len(ln) for ln in table}) == 1  # aligned columns


# ---------------------------------------------------------------- ViSQOL
@pytest.mark.slow
def test_visqol_identical_high_degraded_lower():
    pytest.importorskip("visqol")
    ref = _drum()
    same = M.visqol_mos(ref, ref)
    assert same is not None and same > 4.0
    rng = np.random.default_rng(9)
    t = np.arange(ref.size) / signal.SAMPLE_RATE
    degraded = ref + 0.3 * np.exp(-8 * t) * rng.standard_normal(ref.size)
    worse = M.visqol_mos(ref, degraded)
    assert worse is not None and worse < same - 0.3


def test_visqol_returns_none_on_failure():
    assert M.visqol_mos(np.zeros(0), np.zeros(0)) is None


def test_click_count_and_crest_factor_known_answers():
    """A tone starting from silence has no clicks and a sine's crest factor (3.01 dB); three
    one-sample spikes in decaying noise are counted, and the count matches the GAN's training
    penalty's own threshold (train.losses.click_loss is positive exactly there)."""
    import torch

    from liveinstrument.train.losses import click_loss

    t = np.arange(24255)
    tone = np.where(t >= 5000, np.sin(0.3 * t), 0.0)[None]
    assert M.click_count(tone)[0] == 0
    full_sine = np.sin(2 * np.pi * 441 * t / 44100)[None]
    assert M.crest_factor_db(full_sine)[0] == pytest.approx(3.0103, abs=0.01)
    assert M.crest_factor_db(np.zeros((1, 100)))[0] == 0.0
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((1, 24255)) * np.linspace(1, 0.05, 24255)
    clicked = noise.copy()
    for p in (3000, 9000, 20000):
        clicked[0, p] += 8 * noise[0, p - 100:p + 100].std()  # 8 local RMS
    assert M.click_count(clicked)[0] - M.click_count(noise)[0] == 3
    assert click_loss(torch.from_numpy(tone).float()).item() == 0.0
    assert click_loss(torch.from_numpy(clicked).float()).item() > click_loss(torch.from_numpy(noise).float()).item()


# ---------------------------------------------------------------- spectral balance (issue #14)
_T = np.arange(signal.N_SAMPLES) / signal.SAMPLE_RATE


def _band_index(hz: float) -> int:
    e = signal.OCTAVE_EDGES_HZ
    return next(b for b in range(len(e) - 1) if e[b] <= hz < e[b + 1])


def _decaying_tone(hz: float = 60.0, tau: float = 0.1) -> np.ndarray:
    return np.sin(2 * np.pi * hz * _T) * np.exp(-_T / tau)


def test_band_power_is_mean_square():
    """A steady full-scale 1 kHz sine: -3 dB (mean square 0.5) in its band, nothing far away."""
    x = np.sin(2 * np.pi * 1414.0 * _T)      # mid-band of 1-2 kHz
    r = M.spectral_balance(x)
    b = _band_index(1414.0)
    assert r["late_db"][0, b] == pytest.approx(-3.01, abs=0.1)
    assert r["early_db"][0, b] == pytest.approx(-4.5, abs=1.5)   # the first frames are half zero-padding
    assert r["late_db"][0, b - 3] < -60 and r["late_db"][0, b + 3] < -60


def test_decaying_60hz_tone_known_answers():
    tone = _decaying_tone()
    r = M.spectral_balance(tone)
    lows = [_band_index(43.0), _band_index(64.6)]       # the tone's bins (43 and 65 Hz) straddle 62.5 Hz
    # all the energy is low: the band power of its two bands beats every band from 250 Hz by > 35 dB
    assert np.all(r["early_db"][0, lows].max() - r["early_db"][0, _band_index(250.0):] > 35)
    # tau = 0.1 s: early vs late is the ratio of the mean of e^(-2 t / tau) over the frame centres
    # of each window (9.5 dB); the 46 ms window and the zero-padded first frames take ~1 dB off
    t = np.arange(1 + signal.N_SAMPLES // signal.BAND_HOP) * signal.BAND_HOP / signal.SAMPLE_RATE
    env = np.exp(-2 * t / 0.1)
    want = 10 * np.log10(env[t < 0.05].mean() / env[(t >= 0.05) & (t < 0.3)].mean())
    assert r["early_db"][0, lows[1]] - r["late_db"][0, lows[1]] == pytest.approx(want, abs=1.5)
    assert r["sub_share"][0] > 0.99
    assert r["low_graininess_db"][0] < 0.1           # a clean exponential decay: no grain
    assert r["kick_tone_share"][0] > 0.9             # one partial


def test_white_noise_known_answers():
    noise = np.random.default_rng(0).standard_normal(signal.N_SAMPLES)
    r = M.spectral_balance(noise)
    # flat spectrum: each octave has twice the power of the one below (3 dB up per band from
    # 125 Hz, where every octave holds exactly twice the bins), averaged over 16 noises
    many = M.spectral_balance(np.random.default_rng(2).standard_normal((16, signal.N_SAMPLES)))
    steps = np.diff(10 * np.log10(np.mean(10 ** (many["late_db"][:, 3:] / 10), axis=0)))
    assert np.all(np.abs(steps - 3.01) < 0.5)
    assert r["sub_share"][0] == pytest.approx(100 / 22050, rel=0.6)     # ~ bandwidth share, -23 dB
    assert r["low_graininess_db"][0] > 0.5                              # rough, not a smooth decay
    assert r["kick_tone_share"][0] < 0.75                               # no dominant partial
    tone = M.spectral_balance(_decaying_tone())
    assert r["low_graininess_db"][0] > 10 * tone["low_graininess_db"][0]


def test_tone_plus_click_counts_one_click_and_keeps_the_tone():
    tone = _decaying_tone()
    clicked = tone.copy()
    clicked[5000] += 6.0 * np.abs(tone[4900:5100]).max()    # ~8.5 local RMS: one isolated spike
    assert list(M.click_count(np.stack([tone, clicked]))) == [0, 1]
    r = M.spectral_balance(np.stack([tone, clicked]))
    assert r["kick_tone_share"][1] > 0.9 and r["low_graininess_db"][1] < 0.5
    # a click is broadband: it lifts the late high bands of the peak-normalised sound
    assert r["late_db"][1, -1] > r["late_db"][0, -1] + 20


def test_spectral_balance_ignores_gain_and_batches():
    tone = _decaying_tone()
    a = M.spectral_balance(np.stack([tone, 0.01 * tone]))
    for k in ("early_db", "late_db", "sub_share", "low_graininess_db", "kick_tone_share"):
        np.testing.assert_allclose(a[k][0], a[k][1], rtol=1e-6, atol=1e-6)


def test_band_deviation_and_compare():
    g, r = np.zeros(10), np.zeros(10)
    g[0], g[4] = 5.0, -2.5
    d = M.band_deviation(g, r)
    assert d["max_dev_db"] == 5.0 and d["worst_band"] == "sub" and d["bands_within"] == 9
    tone, noise = _decaying_tone(), np.random.default_rng(1).standard_normal(signal.N_SAMPLES)
    same = M.compare_spectral_balance(M.spectral_balance(tone[None]), M.spectral_balance(tone[None]))
    assert same["early"]["max_dev_db"] == 0.0 and same["late"]["bands_within"] == 10
    assert same["sub100_share_db"]["diff"] == 0.0 and same["kick_tone_share"]["ratio"] == pytest.approx(1.0)
    other = M.compare_spectral_balance(M.spectral_balance(noise[None]), M.spectral_balance(tone[None]))
    assert other["sub100_share_db"]["diff"] < -20 and other["low_graininess_db"]["ratio"] > 5
