"""What the page draws of a pad's sound: a min/max waveform and a small log-frequency spectrogram.

Computed once per rendered sound (keyed by the pad's generation), in a worker thread of
the web server, from a copy of the sound: a few 512-point FFTs, well under a millisecond,
so it never holds the interpreter long enough to matter to anything else.
"""
from __future__ import annotations

import base64

import numpy as np

WAVE_COLUMNS = 240
SPEC_BINS = 48
N_FFT, HOP = 512, 256


def _log_bands(sample_rate: int, n_bins: int = SPEC_BINS, f_lo: float = 30.0) -> np.ndarray:
    """FFT bin edges of ``n_bins`` log-spaced bands from f_lo to Nyquist."""
    edges_hz = np.geomspace(f_lo, sample_rate / 2, n_bins + 1)
    edges = np.round(edges_hz / sample_rate * N_FFT).astype(int)
    edges = np.maximum.accumulate(np.maximum(edges, 1))
    return np.minimum(edges, N_FFT // 2)


def sound_view(audio: np.ndarray, sample_rate: int) -> dict:
    """JSON-able view: ``wave`` [[min, max] per column], ``spec`` (base64 uint8, frames x bins,
    0 = -80 dB below the peak, 255 = the peak), ``seconds``."""
    x = np.asarray(audio, np.float32).reshape(-1)
    nz = np.flatnonzero(np.abs(x) > 1e-4)
    x = x[:int(nz[-1]) + 1] if nz.size else x[:1]
    cols = min(WAVE_COLUMNS, x.size)
    edges = np.linspace(0, x.size, cols + 1).astype(int)
    wave = [[round(float(x[a:b].min()), 3), round(float(x[a:b].max()), 3)]
            for a, b in zip(edges[:-1], edges[1:]) if b > a]
    pad = np.zeros(max(N_FFT, x.size + N_FFT), np.float32)
    pad[:x.size] = x
    n_frames = max(1, (pad.size - N_FFT) // HOP + 1)
    frames = np.lib.stride_tricks.sliding_window_view(pad, N_FFT)[::HOP][:n_frames]
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT).astype(np.float32), axis=1)) ** 2
    e = _log_bands(sample_rate)
    csum = np.concatenate([np.zeros((power.shape[0], 1)), np.cumsum(power, axis=1)], axis=1)
    width = np.maximum(e[1:] - e[:-1], 1)
    bands = (csum[:, np.maximum(e[1:], e[:-1] + 1)] - csum[:, e[:-1]]) / width
    db = 10 * np.log10(bands + 1e-20)
    db -= db.max()
    spec = np.clip((db + 80.0) / 80.0 * 255.0, 0, 255).astype(np.uint8)
    return {"wave": wave, "seconds": round(x.size / sample_rate, 3), "frames": int(spec.shape[0]),
            "bins": int(spec.shape[1]), "spec": base64.b64encode(spec.tobytes()).decode("ascii")}
