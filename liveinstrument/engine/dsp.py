"""Offline shaping of a raw generator output into a playable hit (runs in the renderer).

raw G output (44.1 kHz, N samples) -> DC removed -> onset aligned -> tuned and
resampled to the device rate -> decay envelope -> loudness matched -> end fade.
Pure numpy/scipy, deterministic: the same raw audio and parameters give the same
samples, which is what makes saved kits and offline renders reproducible.
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from ..signal import FADE_IN, SAMPLE_RATE, find_onset

TARGET_RMS = 10 ** (-16 / 20)   # attack loudness every pad is matched to
PEAK_CEILING = 0.9              # per-hit ceiling; the output limiter handles the sum
ATTACK_WINDOW_S = 0.1           # loudness is measured over the attack, not the tail
END_FADE_S = 0.010


@lru_cache(maxsize=4)
def _dc_sos(sr: int) -> np.ndarray:
    return butter(2, 15.0, btype="highpass", fs=sr, output="sos")


def remove_dc(x: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """2nd-order 15 Hz high-pass: the onset is at 0, so the filter starts from rest."""
    return sosfilt(_dc_sos(sr), x).astype(np.float32)


def align_onset(x: np.ndarray) -> np.ndarray:
    """Shift so the onset (-30 dB re peak) sits FADE_IN samples in, with a short fade-in."""
    nz = np.flatnonzero(x)
    first = int(nz[0]) if nz.size else 0          # G's own fade-in starts at an exact zero
    start = max(first, find_onset(x, -30.0) - FADE_IN)
    y = np.zeros_like(x)
    y[: x.size - start] = x[start:]
    # (i+1)/(F+1): the first sample is already non-zero, so a hit starts exactly at its offset
    y[:FADE_IN] *= (np.arange(1, FADE_IN + 1, dtype=np.float32) / np.float32(FADE_IN + 1))
    return y


def resample_ratio(semitones: float, sr_out: int) -> Fraction:
    """Output/input length ratio: pitch down = longer; includes the 44.1k -> device rate step."""
    r = (sr_out / SAMPLE_RATE) * 2.0 ** (-semitones / 12.0)
    return Fraction(r).limit_denominator(64)


def retune(x: np.ndarray, semitones: float, sr_out: int) -> np.ndarray:
    """Pitch by resampling (tape-style: pitch and length change together)."""
    ratio = resample_ratio(semitones, sr_out)
    if ratio == 1:
        return x
    return resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def decay_envelope(n: int, decay: float, sr: int) -> np.ndarray | None:
    """decay 1 -> untouched; lower -> exponential decay, time constant 10 ms .. 0.5 s."""
    if decay >= 0.999:
        return None
    tau = 0.01 + 0.49 * max(decay, 0.0) ** 2
    return np.exp(-np.arange(n, dtype=np.float32) / np.float32(tau * sr))


def loudness_match(x: np.ndarray, sr: int) -> np.ndarray:
    """Scale so the attack RMS hits TARGET_RMS, then cap the peak at PEAK_CEILING."""
    w = x[: int(ATTACK_WINDOW_S * sr)]
    rms = float(np.sqrt(np.mean(w.astype(np.float64) ** 2))) if w.size else 0.0
    if rms < 1e-7:
        return np.zeros_like(x)
    g = TARGET_RMS / rms
    peak = float(np.max(np.abs(x))) * g
    if peak > PEAK_CEILING:
        g *= PEAK_CEILING / peak
    return (x * np.float32(g)).astype(np.float32)


def shape_hit(raw: np.ndarray, tune_st: float, decay: float, sr_out: int, max_len: int) -> np.ndarray:
    """Raw G output -> playable hit at ``sr_out``, at most ``max_len`` samples, finite."""
    x = np.nan_to_num(np.asarray(raw, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    x = align_onset(remove_dc(x))
    x = retune(x, tune_st, sr_out)[:max_len]
    env = decay_envelope(x.size, decay, sr_out)
    if env is not None:
        x = x * env
    x = loudness_match(x, sr_out)
    nf = min(int(END_FADE_S * sr_out), x.size)
    x[x.size - nf:] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, math.pi, nf, dtype=np.float32)))
    return x.astype(np.float32)


def max_hit_len(sr_out: int, n_samples: int, tune_range_st: float = 12.0) -> int:
    """Longest shaped hit: the lowest tune stretches the sound by 2**(range/12)."""
    return int(math.ceil(n_samples * sr_out / SAMPLE_RATE * 2.0 ** (tune_range_st / 12.0))) + 64
