"""Streaming onset detection with a short hop (runs outside the audio callback).

Pipeline per hop of ``hop`` samples (64 = 1.45 ms at 44.1 kHz):

1. DC blocker / rumble filter (:class:`HighPass`, 2nd-order Butterworth at 30 Hz),
   applied by the caller so the same filtered signal feeds the classifier and E.
2. A ``frame``-sample Hann window ending at the newest sample (128 = 2.9 ms),
   FFT, power summed into 8 bands (0-300-700-1500-3000-5000-8000-12000-Nyquist Hz),
   10 log10 with a floor 80 dB below full scale.
3. Onset strength = band-wise rectified rise against the louder of the two
   previous frames (SuperFlux-style, lag 2), summed over bands, in dB.
4. Adaptive threshold: median + k * 1.4826 * MAD of the strength over the last
   ``window_s`` seconds and over the last ``short_window_s`` (the larger wins;
   refreshed every few hops), plus an absolute minimum. The short window makes a
   long rough sound (held hiss, noise) fire once, not every guard period.
5. Gate: the newest hop must be louder than ``gate_dbfs`` (silence and hiss never
   fire), and a re-trigger guard (``guard_s``, 50 ms) follows every onset, so a
   long or rough sound fires once.
6. The onset is reported at the first sample of the newest hop that reaches a
   quarter of the hop's peak, so timing is better than a hop.

The first threshold crossing fires at once: no look-ahead for a peak, which is
what keeps the latency at one hop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

BAND_EDGES_HZ = (0, 300, 700, 1500, 3000, 5000, 8000, 12000, 1e9)


class HighPass:
    """Streaming 2nd-order Butterworth high-pass (removes DC offset and rumble)."""

    def __init__(self, sr: int = 44_100, cutoff: float = 30.0):
        self.sos = butter(2, cutoff, btype="highpass", fs=sr, output="sos")
        self.zi = np.zeros((self.sos.shape[0], 2))
        self._primed = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return np.zeros(0, np.float32)
        if not self._primed:             # start at steady state for the first sample: no DC step
            self.zi = sosfilt_zi(self.sos) * float(x[0])
            self._primed = True
        y, self.zi = sosfilt(self.sos, np.asarray(x, np.float64), zi=self.zi)
        return y.astype(np.float32)


@dataclass
class Onset:
    sample: int          # absolute sample index in the stream
    strength: float      # onset strength minus threshold (dB, > 0)
    level_db: float      # RMS of the hop that fired, dBFS


class OnsetDetector:
    def __init__(self, sr: int = 44_100, hop: int = 64, frame: int = 128, k: float = 5.0,
                 window_s: float = 1.0, guard_s: float = 0.05, gate_dbfs: float = -50.0,
                 min_strength_db: float = 12.0, update_every: int = 4, slow_lag: int = 6,
                 slow_weight: float = 0.5, short_window_s: float = 0.1, start: int = 0):
        if frame % hop:
            raise ValueError("frame must be a multiple of hop")
        self.sr, self.hop, self.frame = sr, hop, frame
        self.k, self.guard = k, int(guard_s * sr)
        self.gate_dbfs, self.min_strength = gate_dbfs, min_strength_db
        self.update_every = max(1, update_every)
        self.win = np.hanning(frame + 2)[1:-1].astype(np.float32)
        freqs = np.fft.rfftfreq(frame, 1.0 / sr)
        nb = len(BAND_EDGES_HZ) - 1
        self.bands = np.zeros((freqs.size, nb), np.float32)
        for b in range(nb):
            self.bands[(freqs >= BAND_EDGES_HZ[b]) & (freqs < BAND_EDGES_HZ[b + 1]), b] = 1.0
        keep = self.bands.sum(0) > 0
        self.bands = self.bands[:, keep]
        full = frame * float(np.sum(self.win ** 2)) * 0.25     # ~ one-sided power of a full-scale sine
        self.eps = full * 1e-8                                  # band floor: -80 dB re full scale
        self.hist = np.zeros(max(8, int(window_s * sr / hop)), np.float32)
        self.short = max(8, int(short_window_s * sr / hop))
        self.n_hist = 0
        self.thr_base = np.inf
        self.tail = np.zeros(frame - hop, np.float32)
        self.slow_lag = slow_lag
        self.slow_weight = slow_weight
        self.prev = np.full((max(2, slow_lag), self.bands.shape[1]), 10 * np.log10(self.eps), np.float32)
        self.pos = int(start)             # absolute index of the next sample to process
        self.last_onset = -(1 << 60)
        self._pending = np.zeros(0, np.float32)
        self.n_hops = 0
        self.last_strength = 0.0
        self.last_threshold = 0.0

    def threshold(self) -> float:
        return max(self.thr_base, 0.0) + self.min_strength

    def _update_threshold(self) -> None:
        n = min(self.n_hist, self.hist.size)
        if n < 8:
            self.thr_base = 0.0
            return
        h = self.hist[:n]
        med = float(np.median(h))
        mad = float(np.median(np.abs(h - med)))
        thr = med + self.k * 1.4826 * mad
        # a short window too, so the threshold catches up within ~50 ms when a long rough sound
        # (a held hiss, noise) starts; onsets themselves are too sparse to move its median
        m = min(n, self.short)
        i = (self.n_hist - m) % self.hist.size
        hs = np.roll(self.hist, -i)[:m] if i + m > self.hist.size else self.hist[i:i + m]
        med_s = float(np.median(hs))
        mad_s = float(np.median(np.abs(hs - med_s)))
        self.thr_base = max(thr, med_s + self.k * 1.4826 * mad_s)

    def process(self, y: np.ndarray) -> list[Onset]:
        """Feed filtered samples (any length; a partial hop waits for the next call)."""
        y = np.asarray(y, np.float32)
        if self._pending.size:
            y = np.concatenate([self._pending, y])
        n_hops = y.size // self.hop
        self._pending = y[n_hops * self.hop:].copy()
        if n_hops == 0:
            return []
        H, F = self.hop, self.frame
        used = y[:n_hops * H]
        buf = np.concatenate([self.tail, used])
        self.tail = buf[buf.size - (F - H):].copy()
        frames = np.lib.stride_tricks.sliding_window_view(buf, F)[::H][:n_hops]
        spec = np.fft.rfft(frames * self.win, axis=1)
        power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
        L = 10.0 * np.log10(power @ self.bands + self.eps)
        P = self.prev.shape[0]
        Lx = np.concatenate([self.prev, L])
        ref = np.maximum(Lx[P - 1:-1], Lx[P - 2:-2])           # louder of the two previous frames
        flux = np.maximum(L - ref, 0.0).sum(axis=1)
        if self.slow_weight > 0:                                # slow attacks (a hissed "ts"): rise over ~9 ms
            slow = np.maximum(L - Lx[P - self.slow_lag:P - self.slow_lag + n_hops], 0.0).sum(axis=1)
            flux = np.maximum(flux, self.slow_weight * slow)
        self.prev = Lx[-P:].copy()
        hops = used.reshape(n_hops, H)
        level = 10.0 * np.log10(np.mean(hops.astype(np.float64) ** 2, axis=1) + 1e-12)
        out: list[Onset] = []
        for i in range(n_hops):
            if self.n_hops % self.update_every == 0:
                self._update_threshold()
            thr = self.threshold()
            s = float(flux[i])
            start = self.pos + i * H
            if (s > thr and level[i] > self.gate_dbfs and start - self.last_onset >= self.guard):
                a = np.abs(hops[i])
                first = int(np.argmax(a >= 0.25 * float(a.max())))
                onset = start + first
                self.last_onset = onset
                out.append(Onset(onset, s - thr, float(level[i])))
            self.hist[self.n_hist % self.hist.size] = s
            self.n_hist += 1
            self.n_hops += 1
            self.last_strength, self.last_threshold = s, thr
        self.pos += n_hops * H
        return out


def detect_onsets(x: np.ndarray, sr: int = 44_100, chunk: int = 128, **kw) -> np.ndarray:
    """Offline: run the streaming detector (with its high-pass) over ``x`` in ``chunk``-sample
    blocks, as the live path does; returns onset sample indices."""
    hp = HighPass(sr)
    det = OnsetDetector(sr, **kw)
    found: list[int] = []
    x = np.asarray(x, np.float32)
    for i in range(0, x.size, chunk):
        found.extend(o.sample for o in det.process(hp(x[i:i + chunk])))
    return np.asarray(found, np.int64)


def match_onsets(detected, truth, tol: int) -> tuple[int, int, int]:
    """Greedy one-to-one matching within ``tol`` samples: (true positives, false positives, misses)."""
    det = sorted(int(d) for d in detected)
    used = [False] * len(det)
    tp = 0
    for t in sorted(int(t) for t in truth):
        best, bi = None, -1
        for j, d in enumerate(det):
            if not used[j] and abs(d - t) <= tol and (best is None or abs(d - t) < best):
                best, bi = abs(d - t), j
        if bi >= 0:
            used[bi] = True
            tp += 1
    return tp, len(det) - tp, len(list(truth)) - tp


def precision_recall(detected, truth, tol: int) -> tuple[float, float, float]:
    tp, fp, fn = match_onsets(detected, truth, tol)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f
