"""Label-preserving augmentation of drum one-shots (DESIGN.md §3).

Real data is scarce, so each recording is re-rendered a few times as a drummer
or a sampler could have played it: retuned, with a shorter or longer decay,
filtered, layered with another hit of the same class, lightly saturated.
Reversal is deliberately absent: a reversed hit is not a one-shot.

Everything is numpy/scipy and deterministic given a ``np.random.Generator``.
Ranges are per class (``cls`` in ``signal.CLASSES``) so that a kick stays a
kick: at most +-3 semitones, no highpass that removes its body.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.fft
import scipy.signal

from .. import signal as S

SR = S.SAMPLE_RATE
_ENV_HOP = 256  # envelope frame (5.8 ms): fine enough for a closed hat's decay

FILTER_KINDS = ("lowpass", "highpass", "lowshelf", "highshelf")

# Per-class ranges. Cutoffs are (low, high) Hz drawn log-uniformly; "stretch" is
# the largest decay factor (its inverse is the smallest); "drive" is in dB.
_RANGES: dict[str | None, dict] = {
    "kick": dict(pitch=3.0, stretch=1.4, lowpass=(1500.0, 12000.0), highpass=(20.0, 45.0),
                 shelf_db=6.0, drive_db=12.0),
    "snare": dict(pitch=3.0, stretch=1.4, lowpass=(3000.0, 16000.0), highpass=(40.0, 200.0),
                  shelf_db=6.0, drive_db=9.0),
    "cymbal": dict(pitch=3.0, stretch=1.5, lowpass=(6000.0, 18000.0), highpass=(150.0, 1500.0),
                   shelf_db=6.0, drive_db=6.0),
    None: dict(pitch=3.0, stretch=1.3, lowpass=(3000.0, 16000.0), highpass=(20.0, 60.0),
               shelf_db=4.0, drive_db=6.0),
}
# Neutral cutoffs that ``strength`` interpolates from (no audible effect).
_NEUTRAL = {"lowpass": 20000.0, "highpass": 10.0}


# ---------------------------------------------------------------- single effects
def pitch_shift(x: np.ndarray, semitones: float) -> np.ndarray:
    """Retune by band-limited resampling; duration scales by 2**(-semitones/12).

    This is what a sampler does to a drum (higher = shorter), which is the
    natural transformation for a one-shot; no phase vocoder smearing. FFT
    resampling is exactly band-limited, so shifting up cannot alias.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    ratio = 2.0 ** (semitones / 12.0)
    if x.size == 0 or abs(semitones) < 1e-9:
        return x.astype(np.float32)
    # Zero padding keeps the FFT's circular wrap from leaking a sound that is
    # cut mid-decay back into its own attack.
    n_pad = scipy.fft.next_fast_len(x.size + x.size // 8 + 64, real=True)
    n_out_pad = max(1, int(round(n_pad / ratio)))
    spec = scipy.fft.rfft(x, n=n_pad)
    keep = n_out_pad // 2 + 1
    if keep <= spec.size:
        spec = spec[:keep].copy()
        if n_out_pad % 2 == 0:  # the new Nyquist bin must be real
            spec[-1] = spec[-1].real
    y = scipy.fft.irfft(spec, n=n_out_pad) * (n_out_pad / n_pad)
    n_out = max(1, int(round(x.size / ratio)))
    return y[:n_out].astype(np.float32)


def _envelope_db(x: np.ndarray) -> np.ndarray:
    """Frame RMS in dB (frames of _ENV_HOP samples)."""
    n = (x.size + _ENV_HOP - 1) // _ENV_HOP
    pad = np.zeros(n * _ENV_HOP, dtype=np.float64)
    pad[: x.size] = x
    rms = np.sqrt(np.mean(pad.reshape(n, _ENV_HOP) ** 2, axis=1))
    return 20.0 * np.log10(rms + 1e-12)


def time_stretch_envelope(x: np.ndarray, factor: float, max_gain_db: float = 24.0,
                          fit_drop_db: float = 30.0) -> np.ndarray:
    """Make the decay ``factor`` times longer (>1) or shorter (<1), pitch unchanged.

    The decay after the envelope peak is fitted as exponential (a straight line
    in dB, from the peak to its first -``fit_drop_db`` crossing), and the sound
    is multiplied by the gain ramp that turns that slope into slope/factor. A
    ramp that is linear in dB and starts at 0 dB on the peak has no
    discontinuity and no grain boundaries, so it cannot click or smear. The
    boost for ``factor > 1`` is capped at ``max_gain_db`` so a recording's
    noise floor is not pulled up into an audible hiss.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size == 0 or abs(factor - 1.0) < 1e-6 or not np.any(x):
        return x.astype(np.float32)
    env = _envelope_db(x)
    p = int(np.argmax(env))
    below = np.flatnonzero(env[p:] < env[p] - fit_drop_db)
    if below.size:
        drop_db, frames = fit_drop_db, int(below[0])
    else:  # never reaches the threshold inside the clip: use where it ends up
        frames = env.size - 1 - p
        drop_db = env[p] - float(np.min(env[p:]))
    if frames <= 0 or drop_db < 3.0:  # no decay to speak of (e.g. a sustained tone)
        return x.astype(np.float32)
    slope = drop_db / (frames * _ENV_HOP)  # dB per sample
    t = np.arange(x.size, dtype=np.float64) - (p * _ENV_HOP + _ENV_HOP // 2)
    gain_db = np.clip(slope * (1.0 - 1.0 / factor) * np.maximum(t, 0.0), -120.0, max_gain_db)
    return (x * 10.0 ** (gain_db / 20.0)).astype(np.float32)


def gain(x: np.ndarray, db: float) -> np.ndarray:
    """Scale by ``db`` decibels."""
    return (np.asarray(x, dtype=np.float32) * np.float32(10.0 ** (db / 20.0))).astype(np.float32)


def _shelf_sos(kind: str, cutoff: float, gain_db: float) -> np.ndarray:
    """RBJ cookbook shelving biquad (slope S = 1) as one SOS row."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * cutoff / SR
    cw, sw = math.cos(w0), math.sin(w0)
    alpha = sw / 2.0 * math.sqrt(2.0)
    sa = 2.0 * math.sqrt(a) * alpha
    if kind == "lowshelf":
        b = [a * ((a + 1) - (a - 1) * cw + sa), 2 * a * ((a - 1) - (a + 1) * cw),
             a * ((a + 1) - (a - 1) * cw - sa)]
        den = [(a + 1) + (a - 1) * cw + sa, -2 * ((a - 1) + (a + 1) * cw), (a + 1) + (a - 1) * cw - sa]
    else:
        b = [a * ((a + 1) + (a - 1) * cw + sa), -2 * a * ((a - 1) + (a + 1) * cw),
             a * ((a + 1) + (a - 1) * cw - sa)]
        den = [(a + 1) - (a - 1) * cw + sa, 2 * ((a - 1) - (a + 1) * cw), (a + 1) - (a - 1) * cw - sa]
    return np.array([[*(v / den[0] for v in b), 1.0, den[1] / den[0], den[2] / den[0]]])


def filter(x: np.ndarray, kind: str, cutoff: float, gain_db: float = 0.0) -> np.ndarray:  # noqa: A001
    """2nd-order Butterworth low/highpass, or RBJ low/high shelf of ``gain_db``.

    Second order only: gentle enough to sound like a mic choice or an EQ move,
    not like a different instrument.
    """
    if kind not in FILTER_KINDS:
        raise ValueError(f"kind must be one of {FILTER_KINDS}, got {kind!r}")
    cutoff = float(np.clip(cutoff, 10.0, 0.45 * SR))
    if kind in ("lowpass", "highpass"):
        sos = scipy.signal.butter(2, cutoff, btype=kind, fs=SR, output="sos")
    else:
        sos = _shelf_sos(kind, cutoff, gain_db)
    return scipy.signal.sosfilt(sos, np.asarray(x, dtype=np.float64), axis=-1).astype(np.float32)


def _align(x: np.ndarray, onset_at: int) -> np.ndarray:
    """Shift so that signal.find_onset(x) lands on ``onset_at``."""
    shift = onset_at - S.find_onset(x)
    if shift >= 0:
        return np.concatenate([np.zeros(shift, dtype=x.dtype), x])
    return x[-shift:]


def layer(a: np.ndarray, b: np.ndarray, mix: float) -> np.ndarray:
    """(1 - mix) * a + mix * b, both peak-normalised, onsets aligned.

    Layering two hits of the same class is a sound designer's staple; the
    onsets are aligned (at FADE_IN samples, where fit_one_shot puts them) so the
    result is one hit, not a flam. The output is as long as the longer input.
    """
    a = S.peak_normalize(np.asarray(a, dtype=np.float32).reshape(-1))
    b = S.peak_normalize(np.asarray(b, dtype=np.float32).reshape(-1))
    a, b = _align(a, S.FADE_IN), _align(b, S.FADE_IN)
    out = np.zeros(max(a.size, b.size), dtype=np.float32)
    out[: a.size] += (1.0 - mix) * a
    out[: b.size] += mix * b
    return out


def saturate(x: np.ndarray, drive_db: float) -> np.ndarray:
    """tanh soft clipping, ``drive_db`` above the signal's own peak; peak preserved.

    Driving relative to the peak makes the effect independent of input level,
    and dividing by tanh(drive) keeps the peak where it was.
    """
    x = np.asarray(x, dtype=np.float64)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    g = 10.0 ** (drive_db / 20.0)
    if peak <= 0.0 or drive_db <= 0.0:
        return x.astype(np.float32)
    return (np.tanh(g * x / peak) * (peak / math.tanh(g))).astype(np.float32)


# ---------------------------------------------------------------- random chains
def _class_of(label) -> str | None:
    """A label (class name or index into signal.CLASSES) -> class name, None if unknown."""
    if isinstance(label, str):
        return label if label in S.CLASSES else None
    if isinstance(label, (int, np.integer)) and 0 <= int(label) < len(S.CLASSES):
        return S.CLASSES[int(label)]
    return None


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def augment(x: np.ndarray, rng: np.random.Generator, strength: float = 1.0,
            cls: str | None = None, partner: np.ndarray | None = None) -> np.ndarray:
    """A random, class-preserving chain of the effects above -> a finished one-shot.

    Order mirrors a signal path: (layer) -> tune -> decay -> EQ -> saturation.
    Each stage fires with a fixed probability; ``strength`` in [0, 1] scales how
    far its parameters move from neutral (0 = only fit and normalise). Gain is
    skipped: peak normalisation undoes it. ``partner`` is another hit of the
    same class to layer with (augment_set picks one). Returns float32 [N_SAMPLES]
    through signal.fit_one_shot and signal.peak_normalize.
    """
    r = _RANGES.get(cls if cls in S.CLASSES else None, _RANGES[None])
    s = float(np.clip(strength, 0.0, 1.0))
    y = S.peak_normalize(np.asarray(x, dtype=np.float32).reshape(-1))
    # Draw every parameter up front, in a fixed order, so the stream consumed
    # from rng does not depend on which stages fire.
    u = rng.random(6)
    mix = rng.uniform(0.2, 0.5) * s
    semis = rng.uniform(-r["pitch"], r["pitch"]) * s
    stretch = math.exp(rng.uniform(-1.0, 1.0) * math.log(r["stretch"]) * s)
    kind = FILTER_KINDS[int(rng.integers(len(FILTER_KINDS)))]
    lo, hi = r[kind] if kind in _NEUTRAL else (150.0, 4000.0) if kind == "lowshelf" else (2000.0, 10000.0)
    cutoff = _log_uniform(rng, lo, hi)
    if kind in _NEUTRAL:  # move from an inaudible cutoff towards the drawn one
        cutoff = _NEUTRAL[kind] * (cutoff / _NEUTRAL[kind]) ** s
    shelf_db = rng.uniform(-r["shelf_db"], r["shelf_db"]) * s
    drive = rng.uniform(1.0, r["drive_db"]) * s

    if partner is not None and u[0] < 0.3:
        y = layer(y, partner, mix)
    if u[1] < 0.8:
        y = pitch_shift(y, semis)
    if u[2] < 0.5:
        y = time_stretch_envelope(y, stretch)
    if u[3] < 0.6:
        y = filter(y, kind, cutoff, shelf_db)
    if u[4] < 0.2:
        y = saturate(y, drive)
    return S.peak_normalize(S.fit_one_shot(y))


def augment_set(audio: np.ndarray, labels: Sequence, rng: np.random.Generator, copies: int,
                strength: float = 1.0) -> tuple[np.ndarray, list, np.ndarray]:
    """``copies`` augmented versions of every sound.

    audio [n, N] -> (audio [n * copies, N] float32, labels list, source_index [n * copies]),
    row ``i * copies + k`` being copy k of sound i (source_index says which, so
    splits by source recording stay leak-free). Layering partners are drawn
    from sounds with the same label. Roughly 2 ms a sound on one core.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2 or len(labels) != audio.shape[0]:
        raise ValueError("audio must be [n, N] with one label per row")
    n = audio.shape[0]
    source = np.repeat(np.arange(n), copies)
    by_label: dict = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    out = np.empty((source.size, S.N_SAMPLES), dtype=np.float32)
    for row, i in enumerate(source):
        same = by_label[labels[i]]
        j = same[int(rng.integers(len(same)))] if len(same) > 1 else None
        partner = audio[j] if j is not None and j != i else None
        out[row] = augment(audio[i], rng, strength, _class_of(labels[i]), partner)
    return out, [labels[i] for i in source], source
