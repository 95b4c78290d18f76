"""Log-spectral distance between sounds (DESIGN.md §2): the one definition that both the
evaluation (``drumgan eval encoder``, eval.metrics re-exports it) and the encoder's
training-time validation use, below both so that train does not import eval."""
from __future__ import annotations

import numpy as np


def _as_pair(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both as float64 [n, samples]; the flag says whether the input was a single signal."""
    r = np.asarray(ref, dtype=np.float64)
    e = np.asarray(est, dtype=np.float64)
    if r.shape != e.shape:
        raise ValueError(f"ref and est must have the same shape, got {r.shape} and {e.shape}")
    if r.ndim not in (1, 2) or r.shape[-1] == 0:
        raise ValueError(f"expected [samples] or [n, samples] audio, got shape {r.shape}")
    single = r.ndim == 1
    return np.atleast_2d(r), np.atleast_2d(e), single


def _per_item(values: np.ndarray, single: bool) -> float | np.ndarray:
    return float(values[0]) if single else values


def _power_spec(audio: np.ndarray) -> np.ndarray:
    """Power |STFT|² [n, N_BINS, frames] through the project's one STFT (signal.stft)."""
    import torch  # local: the rest of this module is torch-free

    from liveinstrument import signal

    with torch.no_grad():
        spec = signal.stft(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)))
        return (spec.real.square() + spec.imag.square()).numpy().astype(np.float64)


def lsd_db(ref: np.ndarray, est: np.ndarray, chunk: int = 256) -> float | np.ndarray:
    """Log-spectral distance in dB, exactly as DESIGN.md §2 (float or per-item ``[n]`` array).

    1. Each signal is peak-normalised to 1 (``signal.peak_normalize``; silence
       stays silence), so LSD ignores gain.
    2. Power ``P = |STFT|²`` with the project STFT (``signal.stft``: Hann 2048,
       hop 512, centred with reflect padding, Nyquist bin dropped -> 1024 bins).
    3. Per frame ``sqrt(mean_bins (10 log10(P + e) - 10 log10(P̂ + e))²)``,
       averaged over frames, with ``e = 1e-8 * max(P_ref)`` per item (an
       -80 dB floor relative to the reference's loudest bin; ``e`` is floored
       at 1e-20 so a silent reference does not produce log(0)).

    Signals must be longer than ``N_FFT / 2`` samples (reflect padding).
    Batches are processed ``chunk`` items at a time to bound memory.
    """
    from liveinstrument import signal

    r, e, single = _as_pair(ref, est)
    if r.shape[1] <= signal.N_FFT // 2:
        raise ValueError(f"lsd_db needs more than {signal.N_FFT // 2} samples, got {r.shape[1]}")
    out = np.empty(r.shape[0])
    for i in range(0, r.shape[0], chunk):
        p_ref = _power_spec(signal.peak_normalize(r[i:i + chunk]))
        p_est = _power_spec(signal.peak_normalize(e[i:i + chunk]))
        floor = np.maximum(1e-8 * p_ref.max(axis=(1, 2), keepdims=True), 1e-20)
        diff = 10.0 * np.log10(p_ref + floor) - 10.0 * np.log10(p_est + floor)
        out[i:i + chunk] = np.sqrt(np.mean(diff ** 2, axis=1)).mean(axis=1)
    return _per_item(out, single)
