"""Synthetic vocal-percussion-like hits with known labels and onset times.

THIS IS NOT REAL BEATBOXING. These are crude stand-ins, built to train and test
the fast classifier and the onset detector when no labelled recordings of a
performer exist:

* kick  ("b", "bm", "dum"): a short lip-burst click followed by a low voiced
  tone (60-140 Hz, pitch dropping) with a few harmonics and a low vowel formant;
* snare ("k", "pf", "ka"): a band-passed noise burst centred 1-4.5 kHz, with an
  optional short voiced body at 150-300 Hz and an optional low plosive puff;
* cymbal ("ts", "tss", "ch"): a short broadband "t" burst, then high-passed hiss
  (4-9 kHz) with a slower attack and a 60-350 ms tail.

Every generator draws its parameters from wide ranges (level, length, colour,
attack) so a model fitted to them does not just memorise one sound. Recordings
(``make_recording``) add microphone noise, mains hum, a DC offset and overlap
tails, and return the exact onset sample of every hit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfilt

SR = 44_100
CLASSES = ("kick", "snare", "cymbal")


def _env(n: int, attack: int, decay_s: float, sr: int = SR) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    e = np.exp(-t / max(decay_s * sr, 1.0))
    if attack > 0:
        e[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False) ** 1.5
    return e


def _band(x: np.ndarray, lo: float | None, hi: float | None, order: int = 2, sr: int = SR) -> np.ndarray:
    if lo and hi:
        sos = butter(order, [lo, min(hi, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    elif lo:
        sos = butter(order, lo, btype="highpass", fs=sr, output="sos")
    else:
        sos = butter(order, hi, btype="lowpass", fs=sr, output="sos")
    return sosfilt(sos, x)


def _norm(x: np.ndarray) -> np.ndarray:
    return x / max(float(np.max(np.abs(x))), 1e-9)


def kick(rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    n = int(rng.uniform(0.12, 0.35) * sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(60, 140)
    drop = rng.uniform(1.0, 2.2)             # start pitch = f0 * drop, falls to f0
    tau = rng.uniform(0.01, 0.05)
    f = f0 * (1 + (drop - 1) * np.exp(-t / tau))
    ph = 2 * np.pi * np.cumsum(f) / sr
    tone = np.sin(ph) + rng.uniform(0.1, 0.5) * np.sin(2 * ph) + rng.uniform(0.0, 0.3) * np.sin(3 * ph)
    tone *= _env(n, int(rng.uniform(0.0003, 0.003) * sr), rng.uniform(0.04, 0.2), sr)
    if rng.random() < 0.5:                   # low vowel formant ("um"/"oo")
        tone += rng.uniform(0.1, 0.4) * _band(tone, 200, 600) * 2
    nb = int(rng.uniform(0.001, 0.004) * sr)   # lip burst
    burst = np.zeros(n)
    burst[:nb] = _band(rng.standard_normal(nb), None, rng.uniform(800, 2500)) * _env(nb, 0, nb / sr / 3, sr)
    x = tone + rng.uniform(0.2, 1.0) * _norm(burst) * (rng.random() < 0.8)
    return _norm(x)


def snare(rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    n = int(rng.uniform(0.08, 0.25) * sr)
    fc = rng.uniform(1000, 4500)
    bw = rng.uniform(0.6, 1.6)
    noise = _band(rng.standard_normal(n), fc / (1 + bw), fc * (1 + bw))
    noise *= _env(n, int(rng.uniform(0.0002, 0.002) * sr), rng.uniform(0.02, 0.09), sr)
    x = _norm(noise)
    if rng.random() < 0.6:                   # voiced body ("ka")
        t = np.arange(n) / sr
        f = rng.uniform(150, 300)
        body = np.sin(2 * np.pi * f * t) * _env(n, int(0.002 * sr), rng.uniform(0.02, 0.06), sr)
        x = x + rng.uniform(0.1, 0.6) * body
    if rng.random() < 0.3:                   # plosive puff ("pf")
        puff = _band(rng.standard_normal(n), None, 400) * _env(n, 0, 0.01, sr)
        x = x + rng.uniform(0.1, 0.4) * _norm(puff)
    return _norm(x)


def cymbal(rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    n = int(rng.uniform(0.07, 0.4) * sr)
    lo = rng.uniform(3500, 7000)
    hiss = _band(rng.standard_normal(n), lo, rng.uniform(9000, 16000), order=3)
    hiss *= _env(n, int(rng.uniform(0.001, 0.012) * sr), rng.uniform(0.03, 0.15), sr)
    x = _norm(hiss)
    if rng.random() < 0.7:                   # the "t" of "ts": a short broadband click
        nb = int(rng.uniform(0.0005, 0.003) * sr)
        b = np.zeros(n)
        b[:nb] = _band(rng.standard_normal(nb), 1500, None) * _env(nb, 0, nb / sr / 3, sr)
        x = x + rng.uniform(0.2, 0.8) * _norm(b)
    return _norm(x)


GENERATORS = {"kick": kick, "snare": snare, "cymbal": cymbal}


def hit(label: str, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    x = GENERATORS[label](rng, sr)
    nf = min(int(0.008 * sr), x.size // 4)          # fade out: a cut-off tail would click (a false onset)
    x[-nf:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, nf)))
    return x.astype(np.float32)


@dataclass
class Recording:
    audio: np.ndarray          # float32 mono
    onsets: np.ndarray         # sample index of every hit's first sample
    labels: list[str]
    velocities: np.ndarray     # peak level of each hit (linear)
    sr: int = SR


def make_recording(rng: np.random.Generator, n_hits: int = 40, labels: list[str] | None = None,
                   ioi_s: tuple[float, float] = (0.12, 0.5), level_db: tuple[float, float] = (-30.0, -3.0),
                   noise_db: float = -66.0, hum_db: float | None = -60.0, dc: float = 0.02,
                   lead_s: float = 0.4, tail_s: float = 0.5, sr: int = SR) -> Recording:
    """A mono recording of ``n_hits`` synthetic hits at known onsets (not real beatboxing).

    Inter-onset intervals are drawn from ``ioi_s`` (tails overlap the next hit),
    levels from ``level_db`` (peak dBFS); noise, hum and DC are added everywhere.
    """
    labels = labels or [CLASSES[int(i)] for i in rng.integers(0, 3, n_hits)]
    onsets, t = [], int(lead_s * sr)
    for _ in labels:
        onsets.append(t)
        t += int(rng.uniform(*ioi_s) * sr)
    total = onsets[-1] + int(max(tail_s, 0.45) * sr)
    x = np.zeros(total, np.float64)
    vels = []
    for o, lab in zip(onsets, labels):
        h = hit(lab, rng, sr)
        g = 10 ** (rng.uniform(*level_db) / 20)
        m = min(h.size, total - o)
        x[o:o + m] += g * h[:m]
        vels.append(g)
    tt = np.arange(total) / sr
    x += 10 ** (noise_db / 20) * rng.standard_normal(total)
    if hum_db is not None:
        x += 10 ** (hum_db / 20) * np.sin(2 * np.pi * 50.0 * tt + rng.uniform(0, 6.28))
    x += dc
    return Recording(np.clip(x, -1, 1).astype(np.float32), np.array(onsets), list(labels), np.array(vels), sr)


def labelled_windows(rng: np.random.Generator, n_per_class: int, window: int, pre: int = 0,
                     noise_db: tuple[float, float] = (-75.0, -55.0), level_db: tuple[float, float] = (-35.0, -3.0),
                     jitter: int = 64, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """[n, pre + window] snippets starting ``pre`` samples before each hit's onset (onset
    estimate jittered by up to ``jitter`` samples, as a detector would), labels [n]."""
    X, y = [], []
    for ci, lab in enumerate(CLASSES):
        for _ in range(n_per_class):
            h = hit(lab, rng, sr) * 10 ** (rng.uniform(*level_db) / 20)
            j = int(rng.integers(-jitter // 4, jitter + 1))         # detector is usually late, rarely early
            seg = np.zeros(pre + window + jitter + 8)
            start = pre + max(-j, 0)
            src = h[max(j, 0):]
            m = min(src.size, seg.size - start)
            seg[start:start + m] = src[:m]
            seg = seg[:pre + window] + 10 ** (rng.uniform(*noise_db) / 20) * rng.standard_normal(pre + window)
            X.append(seg)
            y.append(ci)
    return np.asarray(X, np.float32), np.asarray(y, np.int64)
