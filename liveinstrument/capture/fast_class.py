"""Fast kick / snare / cymbal decision from the first few milliseconds after an onset.

Cheap features on a short window (no torch, ~50 us): log spectral centroid and
roll-off, energy ratios of four bands (< 250 Hz, 250-1000 Hz, 1-4 kHz, > 5 kHz) to
the total, spectral flatness, zero-crossing rate. A multinomial logistic
regression per decision window (2, 3, 4, 6, 9, 12 ms) maps them to class
probabilities. The weights ship in ``fast_class_weights.json``; they were fitted
by :func:`train` on *synthetic* vocal-percussion-like hits
(:mod:`liveinstrument.capture.vocal_synth`, not real beatboxing). Refit on a
performer's own labelled hits with :func:`train` (``windows`` from
:func:`windows_from_recording`) for real use.

:func:`rule_classify` is the hand-tuned threshold baseline the README compares against.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .vocal_synth import CLASSES, SR, labelled_windows

WEIGHTS = Path(__file__).with_name("fast_class_weights.json")
WINDOWS_MS = (2.0, 3.0, 4.0, 6.0, 9.0, 12.0)
NFFT = 1024
FEATURES = ("log_centroid", "log_rolloff", "low_db", "lowmid_db", "mid_db", "high_db", "flatness", "zcr")
_EDGES = ((0, 250), (250, 1000), (1000, 4000), (5000, 1e9))


def features(x: np.ndarray, sr: int = SR) -> np.ndarray:
    """Feature vector of one window (float32 [len(FEATURES)]); level-independent."""
    x = np.asarray(x, np.float64)
    x = x - x.mean()
    n = x.size
    spec = np.abs(np.fft.rfft(x, max(NFFT, 1 << int(np.ceil(np.log2(max(n, 2))))))) ** 2
    f = np.fft.rfftfreq((spec.size - 1) * 2, 1.0 / sr)
    tot = float(spec.sum()) + 1e-20
    cen = float((f * spec).sum() / tot)
    cum = np.cumsum(spec)
    roll = float(f[min(int(np.searchsorted(cum, 0.85 * tot)), f.size - 1)])
    bands = [10 * np.log10(spec[(f >= lo) & (f < hi)].sum() / tot + 1e-6) for lo, hi in _EDGES]
    flat = float(np.exp(np.mean(np.log(spec[1:] + 1e-20))) / (np.mean(spec[1:]) + 1e-20))
    zcr = float(np.count_nonzero(np.diff(np.signbit(x)))) / max(n - 1, 1)
    return np.array([np.log2(cen + 20.0), np.log2(roll + 20.0), *bands, np.log10(flat + 1e-6), zcr], np.float32)


def feature_matrix(X: np.ndarray, sr: int = SR) -> np.ndarray:
    return np.stack([features(x, sr) for x in X])


class FastClassifier:
    """Logistic regression on :func:`features`; one model per decision window."""

    def __init__(self, models: dict[float, dict] | None = None):
        if models is None:
            models = load_weights()
        self.models = {float(k): {kk: np.asarray(v, np.float64) for kk, v in m.items()} for k, m in models.items()}

    def window_ms(self, wanted: float) -> float:
        """The trained window closest to ``wanted`` ms."""
        return min(self.models, key=lambda k: abs(k - wanted))

    def proba(self, x: np.ndarray, window_ms: float, sr: int = SR) -> np.ndarray:
        m = self.models[self.window_ms(window_ms)]
        f = (features(x, sr) - m["mean"]) / m["std"]
        z = m["W"] @ f + m["b"]
        z = np.exp(z - z.max())
        return z / z.sum()

    def classify(self, x: np.ndarray, window_ms: float, sr: int = SR) -> tuple[int, np.ndarray]:
        p = self.proba(x, window_ms, sr)
        return int(np.argmax(p)), p


def fit_logreg(F: np.ndarray, y: np.ndarray, n_classes: int = 3, l2: float = 1e-3, steps: int = 1500,
               lr: float = 0.5) -> dict:
    """Multinomial logistic regression by full-batch gradient descent on standardised features."""
    mean, std = F.mean(0), F.std(0) + 1e-6
    Z = (F - mean) / std
    W = np.zeros((n_classes, Z.shape[1]))
    b = np.zeros(n_classes)
    Y = np.eye(n_classes)[y]
    for _ in range(steps):
        logits = Z @ W.T + b
        logits -= logits.max(1, keepdims=True)
        P = np.exp(logits)
        P /= P.sum(1, keepdims=True)
        G = (P - Y) / len(y)
        W -= lr * (G.T @ Z + l2 * W)
        b -= lr * G.sum(0)
    return {"mean": mean.tolist(), "std": std.tolist(), "W": W.tolist(), "b": b.tolist()}


def train(seed: int = 0, n_per_class: int = 400, windows_ms=WINDOWS_MS, sr: int = SR,
          out: Path | None = WEIGHTS) -> dict[float, dict]:
    """Fit one model per window on synthetic hits (onset estimate jittered like the detector's)."""
    models = {}
    for w in windows_ms:
        X, y = labelled_windows(np.random.default_rng([seed, int(w * 10)]), n_per_class, int(w * sr / 1000))
        models[float(w)] = fit_logreg(feature_matrix(X, sr), y)
    if out is not None:
        Path(out).write_text(json.dumps({"features": FEATURES, "classes": CLASSES, "trained_on":
                                         "synthetic vocal-percussion-like hits (vocal_synth.py), seed "
                                         f"{seed}, {n_per_class} per class", "models":
                                         {str(k): v for k, v in models.items()}}, indent=1) + "\n")
    return models


def load_weights(path: Path = WEIGHTS) -> dict[float, dict]:
    doc = json.loads(Path(path).read_text())
    return {float(k): v for k, v in doc["models"].items()}


def rule_classify(x: np.ndarray, sr: int = SR) -> int:
    """Hand-tuned thresholds (baseline): strong lows -> kick, bright -> cymbal, else snare."""
    f = features(x, sr)
    if f[2] > -4.0 and f[0] < 10.0:          # > 40 % of the energy below 250 Hz, centroid < ~1 kHz
        return 0
    if f[5] > -3.0 or f[0] > 12.3:           # > 50 % above 5 kHz or centroid > ~5 kHz
        return 2
    return 1


def evaluate(windows_ms=WINDOWS_MS, seed: int = 12345, n_per_class: int = 300, sr: int = SR,
             clf: FastClassifier | None = None) -> dict[float, dict]:
    """Accuracy of the shipped model and of the rule baseline on fresh synthetic hits."""
    clf = clf or FastClassifier()
    res = {}
    for w in windows_ms:
        X, y = labelled_windows(np.random.default_rng([seed, int(w * 10)]), n_per_class, int(w * sr / 1000))
        pred = np.array([clf.classify(x, w, sr)[0] for x in X])
        rule = np.array([rule_classify(x, sr) for x in X])
        conf = np.zeros((3, 3), int)
        for t, p in zip(y, pred):
            conf[t, p] += 1
        res[float(w)] = {"accuracy": float(np.mean(pred == y)), "rule_accuracy": float(np.mean(rule == y)),
                         "confusion": conf.tolist()}
    return res


if __name__ == "__main__":          # python -m liveinstrument.capture.fast_class  (refit + report)
    train()
    for w, r in evaluate().items():
        print(f"{w:5.1f} ms: logreg {r['accuracy']:.3f}  rules {r['rule_accuracy']:.3f}  confusion {r['confusion']}")
