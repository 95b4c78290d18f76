"""Objective metrics for G (paper Table 1) and E (paper Table 2), plus report tables.

Distribution metrics (G): :func:`inception_score`, :func:`kid`,
:func:`frechet_distance` (our stand-in for FAD), and nearest-neighbour
distances that show G is not copying its training set.

Reconstruction metrics (E): :func:`mse`, :func:`snr_db`, :func:`lsd_db`
(DESIGN.md §2) and :func:`visqol_mos` (our stand-in for PEAQ's ODG / DI).

Conventions: audio is float ``[samples]`` or a batch ``[n, samples]``. The
reconstruction metrics return a Python ``float`` for a single pair and a
per-item ``np.ndarray`` of shape ``[n]`` for a batch; averaging is the
caller's business (a report may want the median, or per-class means).
Feature arrays are ``[n, d]``.
"""
from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
from scipy.special import xlogy

from liveinstrument.audio_distance import _as_pair, _per_item, _power_spec, lsd_db
from liveinstrument.signal import CLICK_TAU, CLICK_WIDTH

log = logging.getLogger(__name__)

__all__ = [
    "inception_score",
    "kid",
    "frechet_distance",
    "frechet_distance_from_stats",
    "mse",
    "snr_db",
    "lsd_db",
    "visqol_mos",
    "spectral_balance",
    "band_deviation",
    "class_band_profile_db",
    "compare_spectral_balance",
    "decay_time_s",
    "spectral_centroid_hz",
    "pitch_hz",
    "attack_time_s",
    "nearest_neighbours",
    "nearest_neighbour_distances",
    "nearest_neighbour_baseline",
    "format_table",
]


# ---------------------------------------------------------------- helpers
def _as_features(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty [n, d] array, got shape {a.shape}")
    return a


# ---------------------------------------------------------------- G: distribution metrics
def inception_score(probs: np.ndarray, n_splits: int = 1) -> tuple[float, float]:
    """Inception Score ``exp(E_x KL(p(y|x) || p(y)))`` from class probabilities ``[n, k]``.

    The rows are split into ``n_splits`` contiguous chunks (shuffle first if the
    order is meaningful); ``p(y)`` is the chunk's mean row. Returns the mean and
    the (population) standard deviation of the per-chunk scores; the std is 0.0
    for one split. Ranges from 1 (every sound gets the same distribution) to
    ``k`` (confident and uniformly spread over the classes). Rows are
    renormalised to sum to 1.
    """
    p = _as_features(probs, "probs")
    if np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ValueError("probs must be finite and non-negative")
    if not 1 <= n_splits <= p.shape[0]:
        raise ValueError(f"n_splits must be in [1, {p.shape[0]}], got {n_splits}")
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    scores = []
    for part in np.array_split(p, n_splits):
        py = part.mean(axis=0, keepdims=True)
        # xlogy makes 0 * log 0 = 0, so hard one-hot rows are exact
        kl = (xlogy(part, part) - xlogy(part, py)).sum(axis=1)
        scores.append(math.exp(float(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid(feats_a: np.ndarray, feats_b: np.ndarray, n_subsets: int = 50,
        subset_size: int | None = None, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: unbiased MMD² with ``k(x, y) = (x·y / d + 1)³``.

    Computed on ``n_subsets`` pairs of random subsets (each drawn without
    replacement, ``subset_size`` defaulting to ``min(1000, len(a), len(b))``)
    and returned as (mean, std) over the subsets, as in Bińkowski et al. (2018)
    and the usual KID code: the cross term averages over all ``m²`` pairs, the
    within-set terms exclude the diagonal. Being unbiased it can be slightly
    negative; two draws from one distribution give ~0. Passing the *same*
    array twice gives ``-2 (mean k(x, x) - mean k(x, x')) / m`` rather than
    exactly 0 (the cross term then contains the diagonal); compare disjoint
    halves for a real-vs-real baseline.
    """
    a = _as_features(feats_a, "feats_a")
    b = _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    m = min(1000, len(a), len(b)) if subset_size is None else int(subset_size)
    if not 2 <= m <= min(len(a), len(b)):
        raise ValueError(f"subset_size must be in [2, {min(len(a), len(b))}], got {m}")
    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets)
    for s in range(n_subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values[s] = within - 2.0 * kxy.sum() / (m * m)
    return float(values.mean()), float(values.std())


def frechet_distance_from_stats(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                                sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """``||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½)``, numerically guarded as in the FID code.

    If the matrix square root is not finite (singular covariances, e.g. fewer
    samples than dimensions) it is retried with ``eps`` added to both
    diagonals. A complex result from round-off is reduced to its real part; if
    the imaginary part is not negligible we retry with the offset and warn if
    it persists, rather than abort a report. Tiny negative results from
    round-off are clipped to 0.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError("mean vectors and covariance matrices have inconsistent shapes")
    diff = mu1 - mu2

    def _sqrt_prod(offset: float) -> np.ndarray:
        eye = np.eye(s1.shape[0]) * offset
        return scipy.linalg.sqrtm((s1 + eye) @ (s2 + eye))

    covmean = _sqrt_prod(0.0)
    if not np.all(np.isfinite(covmean)):
        log.info("frechet_distance: singular product of covariances, adding %g to the diagonals", eps)
        covmean = _sqrt_prod(eps)
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=1e-3):
            covmean = _sqrt_prod(eps)
        if np.iscomplexobj(covmean):
            worst = float(np.max(np.abs(covmean.imag)))
            if worst > 1e-3:
                warnings.warn(f"frechet_distance: sqrtm has an imaginary part up to {worst:.3g}; "
                              "using its real part", RuntimeWarning, stacklevel=2)
            covmean = covmean.real
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two sets of embeddings ``[n, d]``.

    This is the FAD formula applied to *our own classifier's* embeddings; it
    is NOT VGGish FAD (the VGGish weights cannot be downloaded here), so the
    numbers are comparable between our models but not with the paper's FAD
    column. Means and unbiased (ddof=1) covariances are fitted per set; see
    :func:`frechet_distance_from_stats` for the numerical guards.
    """
    a = _as_features(feats_a, "feats_a")
    b = _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least two embeddings per set to fit a covariance")
    return frechet_distance_from_stats(a.mean(axis=0), np.cov(a, rowvar=False),
                                       b.mean(axis=0), np.cov(b, rowvar=False), eps=eps)


# ---------------------------------------------------------------- E: reconstruction metrics
def mse(ref: np.ndarray, est: np.ndarray) -> float | np.ndarray:
    """Mean squared error over samples: float for ``[samples]``, ``[n]`` array for ``[n, samples]``.

    No normalisation is applied: pass the signals at the scale you want
    compared (our one-shots are peak-normalised to 1).
    """
    r, e, single = _as_pair(ref, est)
    return _per_item(np.mean((r - e) ** 2, axis=1), single)


def snr_db(ref: np.ndarray, est: np.ndarray) -> float | np.ndarray:
    """``10 log10(Σ ref² / Σ (ref - est)²)`` in dB, per item (float or ``[n]`` array).

    Waveform (phase-sensitive) measure, no normalisation. Guards, following the
    limits of the formula rather than a cap: a zero residual gives ``+inf``
    (also for two silent signals); a silent reference with a non-zero residual
    gives ``-inf``. Never NaN, never a division warning.
    """
    r, e, single = _as_pair(ref, est)
    sig = np.sum(r ** 2, axis=1)
    res = np.sum((r - e) ** 2, axis=1)
    out = np.empty_like(sig)
    zero_res, zero_sig = res == 0.0, sig == 0.0
    out[zero_res] = np.inf
    out[~zero_res & zero_sig] = -np.inf
    ok = ~zero_res & ~zero_sig
    out[ok] = 10.0 * np.log10(sig[ok] / res[ok])
    return _per_item(out, single)


def crest_factor_db(audio: np.ndarray) -> np.ndarray:
    """Peak over RMS in dB, per item of ``[n, samples]`` (silence: 0)."""
    a = np.asarray(audio, dtype=np.float64)
    rms = np.sqrt(np.mean(a ** 2, axis=-1))
    peak = np.max(np.abs(a), axis=-1)
    return np.where(rms > 0, 20.0 * np.log10(np.maximum(peak, 1e-300) / np.maximum(rms, 1e-300)), 0.0)


# Clicks: CLICK_TAU x the local mean power over CLICK_WIDTH samples (defined in signal.py, shared
# with the GAN's click penalty, train.losses.click_loss).


def click_count(audio: np.ndarray, width: int = CLICK_WIDTH, tau: float = CLICK_TAU,
                floor_db: float = -60.0) -> np.ndarray:
    """Isolated spikes per item: samples whose power exceeds ``tau`` x the mean power of the
    ``width`` samples centred on them (the sample included; ~4.3 local RMS for a lone spike)
    and that are within ``floor_db`` of the item's peak (a recording's quiet tail is full of
    lone quantisation steps, inaudible and not clicks).

    Gaussian noise crosses it about 2e-5 of the time and a tone rising from silence never.
    The GAN's click penalty (``train.losses.click_loss``) is the differentiable hinge on the
    same ratio.
    """
    from scipy.ndimage import uniform_filter1d

    e = np.asarray(audio, dtype=np.float64) ** 2
    # uniform_filter1d's 'constant' edges divide by the full width; rescale to a mean over the samples inside
    inside = uniform_filter1d(np.ones(e.shape[-1]), width, mode="constant")
    local = uniform_filter1d(e, width, axis=-1, mode="constant") / inside
    audible = e > e.max(axis=-1, keepdims=True) * 10.0 ** (floor_db / 10.0)
    return np.sum((e > tau * (local + 1e-20)) & audible, axis=-1)


# ---------------------------------------------------------------- spectral balance (issue #14)
# Definitions, all on each sound peak-normalised to 1 and a 2048 / 256 Hann STFT (zero-padded at
# the edges, frame t centred on sample 256 t; signal.BAND_N_FFT / BAND_HOP), bands and windows
# from signal.py (OCTAVE_EDGES_HZ, LOW_BAND_HZ, ...). A band's power is the mean square of the
# signal's content in it (dB re full-scale DC: a full-scale sine is -3 dB).
def _band_power(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(one-sided power scaled to mean square per bin [n, T, F], windowed frames [n, T, n_fft])."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.signal import get_window

    from liveinstrument import signal as S

    x = S.peak_normalize(np.atleast_2d(np.asarray(audio, np.float64))).astype(np.float64)
    half = S.BAND_N_FFT // 2
    x = np.pad(x, ((0, 0), (half, half)))
    w = get_window("hann", S.BAND_N_FFT)
    frames = sliding_window_view(x, S.BAND_N_FFT, axis=-1)[:, ::S.BAND_HOP] * w
    p = np.abs(np.fft.rfft(frames, axis=-1)) ** 2
    p[..., 1:-1] *= 2.0          # one-sided: fold the negative frequencies in
    return p / (S.BAND_N_FFT * np.sum(w ** 2)), frames


def _frame_times() -> np.ndarray:
    from liveinstrument import signal as S
    return np.arange(1 + S.N_SAMPLES // S.BAND_HOP) * S.BAND_HOP / S.SAMPLE_RATE


def _db(p: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(p, 1e-20))


def _low_band_active(e_low: np.ndarray, t: np.ndarray, span_db: float = 40.0) -> slice:
    """Frames from the low band's loudest one (within the first LATE_S) onwards while it stays
    within ``span_db`` of it and inside LATE_S."""
    from liveinstrument import signal as S
    last = int(np.searchsorted(t, S.LATE_S))
    seg = e_low[:last]
    k = int(np.argmax(seg))
    below = np.flatnonzero(seg[k:] < seg[k] * 10.0 ** (-span_db / 10.0))
    return slice(k, k + (int(below[0]) if below.size else seg.size - k))


def spectral_balance(audio: np.ndarray, chunk: int = 32) -> dict[str, np.ndarray]:
    """Per-sound spectral-balance measures of ``[n, samples]`` audio (issue #14):

    - ``early_db`` / ``late_db`` ``[n, bands]``: power per octave band (OCTAVE_EDGES_HZ) over
      the frames centred in the first 50 ms and in 50-300 ms, in dB;
    - ``sub_share`` ``[n]``: the share (0..1) of the first 120 ms's energy below 100 Hz;
    - ``low_graininess_db`` ``[n]``: the 30-150 Hz band's power per frame (5.8 ms) in dB, from
      its loudest frame while within 40 dB of it (at most 300 ms), minus a quadratic trend; the
      mean |frame-to-frame jump| of what is left. A clean decaying tone gives ~0;
    - ``kick_tone_share`` ``[n]``: over the same frames, the strongest low partial's share of
      the 30-150 Hz energy: per frame, the energy within one STFT bin (21.5 Hz) of the peak of
      the 4x zero-padded spectrum, summed over frames, over the band's energy there. A pure
      tone gives ~0.95, white noise ~0.5.

    Sounds whose 30-150 Hz band is active for fewer than 4 frames get NaN for the last two.
    """
    from liveinstrument import signal as S

    a = np.atleast_2d(np.asarray(audio, np.float64))
    n, nb = a.shape[0], len(S.OCTAVE_EDGES_HZ) - 1
    t = _frame_times()
    early, late = t < S.EARLY_S, (t >= S.EARLY_S) & (t < S.LATE_S)
    sub_frames = t < S.SUB_WINDOW_S
    bands = [S.band_bins(S.OCTAVE_EDGES_HZ[b], S.OCTAVE_EDGES_HZ[b + 1]) for b in range(nb)]
    sub_bins = S.band_bins(0.0, S.SUB_HZ)
    low_bins = S.band_bins(*S.LOW_BAND_HZ)
    # the 4x zero-padded DFT at the low band's frequencies only (a matrix product, not a big FFT)
    fine_df = S.SAMPLE_RATE / (4 * S.BAND_N_FFT)
    fine_f = np.arange(np.ceil(S.LOW_BAND_HZ[0] / fine_df), np.ceil(S.LOW_BAND_HZ[1] / fine_df)) * fine_df
    kernel = np.exp(-2j * np.pi * np.outer(np.arange(S.BAND_N_FFT), fine_f) / S.SAMPLE_RATE)
    near = np.abs(fine_f[:, None] - fine_f[None, :]) <= S.SAMPLE_RATE / S.BAND_N_FFT
    out = {"early_db": np.empty((n, nb)), "late_db": np.empty((n, nb)), "sub_share": np.empty(n),
           "low_graininess_db": np.full(n, np.nan), "kick_tone_share": np.full(n, np.nan)}
    for i in range(0, n, chunk):
        p, frames = _band_power(a[i:i + chunk])
        per_band = np.stack([p[..., b].sum(-1) for b in bands], axis=-1)       # [c, T, bands]
        out["early_db"][i:i + chunk] = _db(per_band[:, early].mean(1))
        out["late_db"][i:i + chunk] = _db(per_band[:, late].mean(1))
        total = p[:, sub_frames].sum((1, 2))
        out["sub_share"][i:i + chunk] = p[:, sub_frames][..., sub_bins].sum((1, 2)) / np.maximum(total, 1e-30)
        e_low = p[..., low_bins].sum(-1)                                        # [c, T]
        for j in range(p.shape[0]):
            act = _low_band_active(e_low[j], t)
            if act.stop - act.start < 4 or e_low[j, act].max() <= 1e-18:
                continue
            d = _db(e_low[j, act])
            k = np.arange(d.size)
            trend = np.polyval(np.polyfit(k, d, 2), k)
            out["low_graininess_db"][i + j] = float(np.mean(np.abs(np.diff(d - trend))))
            fine = np.abs(frames[j, act] @ kernel) ** 2                         # [frames, fine bins]
            peak = np.argmax(fine, axis=1)
            partial = np.sum(fine * near[peak], axis=1).sum()
            out["kick_tone_share"][i + j] = float(partial / max(fine.sum(), 1e-30))
    return out


def band_deviation(gen_db: np.ndarray, real_db: np.ndarray, tol_db: float = 3.0) -> dict:
    """Compare two class band profiles ``[bands]`` (dB): the largest |difference| and in which
    band, the signed differences, and how many bands lie within ``tol_db``."""
    from liveinstrument import signal as S

    diff = np.asarray(gen_db, np.float64) - np.asarray(real_db, np.float64)
    worst = int(np.argmax(np.abs(diff)))
    return {"max_dev_db": float(np.abs(diff[worst])), "worst_band": S.OCTAVE_LABELS[worst],
            "diff_db": [float(v) for v in diff], "bands_within": int(np.sum(np.abs(diff) <= tol_db)),
            "n_bands": int(diff.size)}


def class_band_profile_db(per_sound_db: np.ndarray, floor_db: float = -100.0) -> np.ndarray:
    """A class's band profile ``[bands]``: the mean over its sounds of each sound's band power in
    dB (floored at ``floor_db``). Averaging in dB describes the typical sound: a mean of powers
    would let the few real electronic hats that are mostly sub-bass set the cymbals' low bands."""
    return np.mean(np.maximum(np.asarray(per_sound_db, np.float64), floor_db), axis=0)


def compare_spectral_balance(gen: dict[str, np.ndarray], real: dict[str, np.ndarray],
                             tol_db: float = 3.0) -> dict:
    """Class-level comparison of two :func:`spectral_balance` results (one class each):
    band profiles and deviations (early, late), the sub-100 Hz share (mean over sounds of the
    share in dB, floored at -80 dB), mean low-band graininess and kick-tone share, generated and
    real, with their ratios."""
    res: dict = {}
    for seg in ("early", "late"):
        g, r = class_band_profile_db(gen[f"{seg}_db"]), class_band_profile_db(real[f"{seg}_db"])
        res[seg] = {"gen_db": [float(v) for v in g], "real_db": [float(v) for v in r],
                    **band_deviation(g, r, tol_db)}
    sg, sr = (float(np.mean(np.maximum(_db(x["sub_share"]), -80.0))) for x in (gen, real))
    res["sub100_share_db"] = {"gen": sg, "real": sr, "diff": sg - sr}
    for key in ("low_graininess_db", "kick_tone_share"):
        g, r = float(np.nanmean(gen[key])), float(np.nanmean(real[key]))
        res[key] = {"gen": g, "real": r, "ratio": g / r if r else float("nan")}
    return res


# ---------------------------------------------------------------- what a pad sounds like (kit design)
def decay_time_s(audio: np.ndarray, db: float = -40.0, sr: int = 44_100, frame: int = 256) -> np.ndarray:
    """Seconds from the start of each ``[n, samples]`` hit to the end of its last ``frame``-sample
    block whose RMS is within ``db`` of the loudest block's (the -40 dB decay time by default)."""
    a = np.atleast_2d(np.asarray(audio, np.float64))
    nf = a.shape[1] // frame
    rms = np.sqrt(np.mean(a[:, :nf * frame].reshape(a.shape[0], nf, frame) ** 2, axis=-1))
    above = rms >= rms.max(axis=1, keepdims=True) * 10.0 ** (db / 20.0)
    last = nf - 1 - np.argmax(above[:, ::-1], axis=1)
    return np.where(rms.max(axis=1) > 0, (last + 1) * frame / sr, 0.0)


def spectral_centroid_hz(audio: np.ndarray, sr: int = 44_100, window_s: float = 0.1) -> np.ndarray:
    """Power-weighted mean frequency of each hit's first ``window_s`` seconds (its brightness)."""
    a = np.atleast_2d(np.asarray(audio, np.float64))[:, :int(window_s * sr)]
    p = np.abs(np.fft.rfft(a * np.hanning(a.shape[1] * 2)[a.shape[1]:], axis=1)) ** 2  # falling half-window
    f = np.fft.rfftfreq(a.shape[1], 1.0 / sr)
    return (p @ f) / np.maximum(p.sum(axis=1), 1e-30)


def pitch_hz(audio: np.ndarray, sr: int = 44_100, fmin: float = 35.0, fmax: float = 500.0,
             start_s: float = 0.02, stop_s: float = 0.25) -> np.ndarray:
    """The strongest spectral peak between ``fmin`` and ``fmax`` of each hit's ``start_s``-
    ``stop_s`` segment (past the stick's attack: a drum's body tone), 1.3 Hz resolution."""
    a = np.atleast_2d(np.asarray(audio, np.float64))[:, int(start_s * sr):int(stop_s * sr)]
    n_fft = 1 << 15
    p = np.abs(np.fft.rfft(a * np.hanning(a.shape[1]), n_fft, axis=1)) ** 2
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    band = (f >= fmin) & (f <= fmax)
    return f[band][np.argmax(p[:, band], axis=1)]


def attack_time_s(audio: np.ndarray, sr: int = 44_100, window_s: float = 0.001) -> np.ndarray:
    """Seconds from 10 % to 90 % of each hit's peak envelope (RMS over ``window_s``)."""
    from scipy.ndimage import uniform_filter1d
    a = np.atleast_2d(np.asarray(audio, np.float64))
    env = np.sqrt(np.maximum(uniform_filter1d(a ** 2, max(1, int(window_s * sr)), axis=1), 0.0))
    peak = env.max(axis=1, keepdims=True)
    t10 = np.argmax(env >= 0.1 * peak, axis=1)
    t90 = np.argmax(env >= 0.9 * peak, axis=1)
    return np.maximum(t90 - t10, 0) / sr


# ViSQOL v3 audio mode (visqol-python mirrors C++ v3.3.3): 48 kHz, 80 ms gammatone
# frames every 20 ms, 30-frame patches, the first reference patch starting at
# frame 14, and at least 45 frames. Constants as in visqol.visqol_manager /
# patch_creator / analysis_window.
_VISQOL_SR = 48_000
_VISQOL_HOP = 960
_VISQOL_WINDOW = 3_840
_VISQOL_FIRST_PATCH_FRAME = 14
_VISQOL_MIN_FRAMES = 45
_VISQOL_MIN_SAMPLES = _VISQOL_WINDOW + (_VISQOL_MIN_FRAMES - 1) * _VISQOL_HOP  # 46,080 = 0.96 s
_VISQOL_LEAD = _VISQOL_FIRST_PATCH_FRAME * _VISQOL_HOP  # 13,440 = 0.28 s

_visqol_api: Any = None


def _get_visqol() -> Any:
    global _visqol_api
    if _visqol_api is None:
        from visqol import VisqolApi

        api = VisqolApi()
        api.create(mode="audio")
        _visqol_api = api
    return _visqol_api


def _visqol_layout(x: np.ndarray, total: int) -> np.ndarray:
    out = np.zeros(total, dtype=np.float64)
    out[_VISQOL_LEAD:_VISQOL_LEAD + x.size] = x
    return out


def visqol_mos(ref: np.ndarray, est: np.ndarray, sr: int = 44_100) -> float | None:
    """ViSQOL v3 (audio mode) MOS-LQO, 1..5, of ``est`` against ``ref`` (single 1-D signals).

    Our stand-in for PEAQ's ODG / DI (paper Table 2), which have no maintained
    Python implementation. Uses the pure-Python ``visqol-python`` port:
    both signals are peak-normalised to 1 (ViSQOL level-matches the degraded
    signal to the reference anyway, but its absolute -45 dB floor makes the
    score depend on the reference's level, so we fix it at full scale, as a
    WAV file would be), resampled ``sr`` -> 48 kHz with
    ``scipy.signal.resample_poly`` (160/147 from 44.1 kHz) and zero-padded.

    Padding: ViSQOL needs at least 45 frames (0.96 s at 48 kHz) and compares
    30-frame (0.6 s) patches of which the first starts at frame 14 (0.28 s).
    A 0.55 s one-shot is therefore placed after 0.28 s of leading zeros and
    followed by zeros up to 0.96 s, so that its attack and body fall inside
    the one reference patch (padding only at the end would leave the attack
    outside every patch and the score would barely react to degradation).

    Caveats: ~0.4 s per call on a CPU core (longer without numba); the score
    saturates at ~4.73 for identical signals and is coarse and not always
    monotonic among strong degradations on such short sounds, so read it next
    to LSD. Returns None if visqol-python is missing or fails (callers print
    "n/a").
    """
    try:
        from math import gcd

        from scipy.signal import resample_poly

        r = np.asarray(ref, dtype=np.float64).reshape(-1)
        e = np.asarray(est, dtype=np.float64).reshape(-1)
        if r.size == 0 or e.size == 0:
            raise ValueError("empty signal")
        g = gcd(_VISQOL_SR, int(sr))
        up, down = _VISQOL_SR // g, int(sr) // g
        r, e = (resample_poly(x, up, down) if up != down else x for x in (r, e))
        r = r / max(float(np.max(np.abs(r))), 1e-12)
        e = e / max(float(np.max(np.abs(e))), 1e-12)
        total = max(_VISQOL_MIN_SAMPLES, _VISQOL_LEAD + max(r.size, e.size) + _VISQOL_HOP)
        result = _get_visqol().measure_from_arrays(
            _visqol_layout(r, total), _visqol_layout(e, total), _VISQOL_SR)
        mos = float(result.moslqo)
        return mos if math.isfinite(mos) else None
    except Exception as exc:  # noqa: BLE001 -- a missing optional metric must not abort a report
        log.warning("visqol_mos unavailable: %s", exc)
        return None


# ---------------------------------------------------------------- memorisation check
def nearest_neighbours(query: np.ndarray, reference: np.ndarray, metric: str = "cosine",
                       exclude_self: bool = False, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, (distance, index) of its nearest reference row.

    ``metric``: ``"cosine"`` (1 - cosine similarity, in [0, 2]; insensitive to
    the embedding's scale) or ``"l2"`` (Euclidean). ``exclude_self`` skips the
    diagonal, for leave-one-out when ``query is reference``.
    """
    q = _as_features(query, "query")
    ref = _as_features(reference, "reference")
    if q.shape[1] != ref.shape[1]:
        raise ValueError(f"feature dimensions differ: {q.shape[1]} vs {ref.shape[1]}")
    if exclude_self and (q.shape != ref.shape or len(ref) < 2):
        raise ValueError("exclude_self needs query and reference to be the same set of >= 2 rows")
    if metric == "cosine":
        qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        rn = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    elif metric != "l2":
        raise ValueError(f"metric must be 'cosine' or 'l2', got {metric!r}")
    ref_sq = np.sum(ref ** 2, axis=1)
    dist = np.empty(len(q))
    idx = np.empty(len(q), dtype=np.int64)
    for i in range(0, len(q), chunk):
        if metric == "cosine":
            d = 1.0 - qn[i:i + chunk] @ rn.T
        else:
            qc = q[i:i + chunk]
            d = np.sqrt(np.maximum(np.sum(qc ** 2, axis=1)[:, None] + ref_sq[None, :]
                                   - 2.0 * qc @ ref.T, 0.0))
        if exclude_self:
            rows = np.arange(d.shape[0])
            d[rows, rows + i] = np.inf
        j = np.argmin(d, axis=1)
        idx[i:i + chunk] = j
        dist[i:i + chunk] = np.maximum(d[np.arange(d.shape[0]), j], 0.0)
    return dist, idx


def nearest_neighbour_distances(gen_feats: np.ndarray, train_feats: np.ndarray,
                                metric: str = "cosine") -> np.ndarray:
    """Distance ``[n_gen]`` from each generated embedding to its nearest training embedding.

    Cosine distance (1 - cos) by default, or ``metric="l2"``. Compare the
    distribution with :func:`nearest_neighbour_baseline`: if generated sounds
    sit much closer to the training set than training sounds sit to each
    other, G is copying its training data.
    """
    return nearest_neighbours(gen_feats, train_feats, metric)[0]


def nearest_neighbour_baseline(train_feats: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """Real-vs-real baseline ``[n_train]``: each training embedding's distance to its
    nearest *other* training embedding (leave-one-out). Exact duplicates in the
    training set show up as zeros."""
    return nearest_neighbours(train_feats, train_feats, metric, exclude_self=True)[0]


# ---------------------------------------------------------------- report tables
def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, tuple) and len(v) == 2:  # (mean, std)
        return f"{_fmt(v[0])} ± {_fmt(v[1])}"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "n/a"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    a = abs(f)
    # the paper's precision: two decimals, three for small values such as KID
    if a == 0.0 or 0.1 <= a < 1e5:
        return f"{f:.2f}"
    if 1e-3 <= a < 0.1:
        return f"{f:.3f}"
    return f"{f:.2e}"


def format_table(rows: list[dict], columns: list[str], title: str) -> str:
    """Plain-text table shaped like the paper's Tables 1 and 2, as a Markdown pipe table.

    ``columns`` gives the keys (and headers) in order; the first is the row
    label and is left-aligned, the rest are right-aligned. Missing keys print
    empty, ``None`` / NaN print ``n/a``, a ``(mean, std)`` tuple prints
    ``mean ± std``, floats get two decimals (three, or scientific notation,
    for small values). The title is printed above the table. Needs no
    terminal; the result pastes into a README.
    """
    cells = [[_fmt(row[c]) if c in row else "" for c in columns] for row in rows]
    header = [str(c) for c in columns]
    widths = [max([len(header[j])] + [len(r[j]) for r in cells]) for j in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        parts = [v.ljust(w) if j == 0 else v.rjust(w) for j, (v, w) in enumerate(zip(values, widths))]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(
        (":" + "-" * (w + 1)) if j == 0 else ("-" * (w + 1) + ":") for j, w in enumerate(widths)) + "|"
    out = [title, "", line(header), rule] + [line(r) for r in cells]
    return "\n".join(out)
