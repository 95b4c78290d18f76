"""The one definition of DrumGAN Live's signal representation (DESIGN.md §2).

Every module that turns audio into a spectrogram, or back, goes through here:
sample rate, one-shot length, STFT geometry, the compression of the complex
spectrum that G models, the classifier's log-mel and the encoder's thresholded
log-magnitude.

Choices recorded here (and in models/README.md):
- 44.1 kHz mono, N = 24,255 samples (0.55 s), onset at sample 0, 20 ms
  raised-cosine fade-out at the end.
- Sounds are *peak*-normalized to 1.0 before training (drums are transient; a
  loudness measure over 0.55 s would rank a cymbal's tail above a kick's body).
- STFT: Hann 2048, hop 512, centred (reflect padding) -> 1025 x 48; the Nyquist
  bin is dropped -> 1024 x 48. The inverse pads it back with zeros.
- G's target is the power-law compressed, phase-demodulated complex spectrum
  ``Y = MODEL_GAIN * R * (X / SPEC_SCALE) * |X / SPEC_SCALE| ** (COMPRESS - 1)``:
  * compression: the magnitude becomes ``|X / SPEC_SCALE| ** COMPRESS``, so the
    ~100 dB range of a drum spectrum fits what a conv net produces and quiet
    bins are not numerically invisible next to the attack;
  * demodulation ``R[k, t] = (-1)**k * (-i)**(k t)``: references each frame's
    phase to the window centre and removes the phase advance of the bin's
    centre frequency over one hop (hop = N_FFT / 4, so it is a quarter turn per
    bin per frame). A steady partial or a click then has a smooth phase across
    neighbouring bins and frames, which is what makes the average-pooled
    low-resolution targets of progressive growing meaningful (pooling raw
    real/imag values would cancel to nearly zero). |R| = 1: still the real and
    imaginary parts of the STFT, just referenced differently.
  Both steps are exactly invertible.
- Encoder input: log10 magnitude relative to the sound's own loudest bin,
  floored at ``ENCODER_FLOOR_LOG10`` = -1.5, i.e. -30 dB below the peak bin. This
  is how we read the paper's "threshold below -1.5 dB" (§3.3): -1.5 on a log10
  scale relative to the peak, which removes the faint high-frequency artefacts
  that E could otherwise exploit. It is the default; an encoder's config names
  its own floor (``EncoderConfig.floor_db``; the shipped E's is -50 dB).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# torch is imported inside the functions that need it: the live engine's audio process
# uses this module's constants and numpy helpers and must not load torch.

SAMPLE_RATE = 44_100
N_SAMPLES = 24_255  # 0.55 s
N_FFT = 2048
HOP = 512
N_BINS = N_FFT // 2  # Nyquist bin dropped
N_FRAMES = 1 + N_SAMPLES // HOP  # 48 (centred STFT)
FADE_OUT = int(0.020 * SAMPLE_RATE)
FADE_IN = 16  # a few samples of pre-roll so a trimmed onset does not click

SPEC_SCALE = 64.0  # a full-scale partial in a Hann-2048 STFT peaks near 512
COMPRESS = 0.3
# After compression the training set's values have a standard deviation near 0.14; G's
# equalized-lr layers start out producing values near unit scale. This gain meets them in
# the middle, so G's first thousands of steps go into shape, not into shrinking its output.
MODEL_GAIN = 4.0
N_MELS = 128
MEL_FMIN = 20.0
MEL_FMAX = SAMPLE_RATE / 2
ENCODER_FLOOR_LOG10 = -1.5
LATENT_DIM = 128
N_CLASSES = 3
CLASSES = ("kick", "snare", "cymbal")

# Octave bands of the spectral-balance metrics (eval.metrics.band_profile_db) and of any training
# loss that matches them: "sub" below 31.25 Hz, then octaves 31.25-62.5 Hz ... 8-16 kHz, on a
# finer STFT than G's (2048 / 256: 5.8 ms frames) of each peak-normalised sound.
OCTAVE_EDGES_HZ = (0.0, 31.25, 62.5, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)
OCTAVE_LABELS = ("sub", "31", "63", "125", "250", "500", "1k", "2k", "4k", "8k")
BAND_N_FFT = 2048
BAND_HOP = 256
EARLY_S = 0.050                 # "early": frames centred in the first 50 ms ...
LATE_S = 0.300                  # ... "late": 50-300 ms
LOW_BAND_HZ = (30.0, 150.0)     # a kick's fundamental lives here (graininess, kick-tone share)
SUB_HZ, SUB_WINDOW_S = 100.0, 0.120   # sub-100 Hz share of the first 120 ms
# A click: a sample whose power is CLICK_TAU x the mean over the CLICK_WIDTH samples centred on
# it (about 4.3 local RMS at an isolated spike); Gaussian noise crosses it ~2e-5 of the time.
# Shared by the metric (eval.metrics.click_count) and the GAN's penalty (train.losses.click_loss).
CLICK_WIDTH, CLICK_TAU = 129, 16.0


def band_bins(lo_hz: float, hi_hz: float, n_fft: int = BAND_N_FFT, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Indices of the rfft bins whose centre frequency lies in [lo_hz, hi_hz)."""
    f = np.arange(n_fft // 2 + 1) * (sr / n_fft)
    return np.flatnonzero((f >= lo_hz) & (f < hi_hz))


# ---------------------------------------------------------------- waveform shaping
def fade_window() -> np.ndarray:
    """Gain curve applied to every one-shot: short fade-in, 20 ms fade-out."""
    w = np.ones(N_SAMPLES, dtype=np.float32)
    w[:FADE_IN] = np.linspace(0.0, 1.0, FADE_IN, endpoint=False, dtype=np.float32)
    t = np.linspace(0.0, math.pi, FADE_OUT, dtype=np.float32)
    w[-FADE_OUT:] = 0.5 * (1.0 + np.cos(t))
    return w


_FADE = fade_window()


def find_onset(x: np.ndarray, threshold_db: float = -40.0) -> int:
    """Index of the first sample within ``threshold_db`` of the peak (0 for silence)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= 0.0:
        return 0
    above = np.flatnonzero(np.abs(x) >= peak * 10.0 ** (threshold_db / 20.0))
    return int(above[0]) if above.size else 0


def fit_one_shot(x: np.ndarray, trim: bool = True) -> np.ndarray:
    """Trim leading silence, cut or zero-pad to N_SAMPLES, apply the fades.

    ``x`` is mono float audio at SAMPLE_RATE. The onset lands FADE_IN samples
    after sample 0 (the fade-in covers the pre-roll).
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if trim:
        start = max(0, find_onset(x) - FADE_IN)
        x = x[start:]
    out = np.zeros(N_SAMPLES, dtype=np.float32)
    n = min(N_SAMPLES, x.size)
    out[:n] = x[:n]
    return out * _FADE


def peak_normalize(x: np.ndarray, peak: float = 1.0, eps: float = 1e-9) -> np.ndarray:
    """Scale so that max |x| == peak along the last axis (silence stays silence)."""
    m = np.max(np.abs(x), axis=-1, keepdims=True)
    return (x * (peak / np.maximum(m, eps))).astype(np.float32)


# ---------------------------------------------------------------- STFT and its inverse
_windows: dict = {}


def _cached(store: dict, key, make):
    """``store[key]``, made by ``make()`` on first use, outside inference mode: a cached
    tensor made inside it (a first call from classify()) could not take part in a later
    autograd graph (GAN guidance, E's refinement)."""
    import torch
    if key not in store:
        with torch.inference_mode(False):
            store[key] = make()
    return store[key]


def _window(device, dtype=None) -> torch.Tensor:
    import torch
    dtype = dtype or torch.float32
    return _cached(_windows, (str(device), dtype), lambda: torch.hann_window(N_FFT, device=device, dtype=dtype))


def stft(audio: torch.Tensor) -> torch.Tensor:
    """Complex STFT [..., N_BINS, N_FRAMES] (Nyquist dropped) of [..., N_SAMPLES] audio."""
    import torch
    shape = audio.shape[:-1]
    a = audio.reshape(-1, audio.shape[-1]).float()
    spec = torch.stft(a, N_FFT, HOP, window=_window(a.device), center=True,
                      pad_mode="reflect", return_complex=True)
    return spec[:, :N_BINS, :].reshape(*shape, N_BINS, spec.shape[-1])


def istft(spec: torch.Tensor, length: int = N_SAMPLES) -> torch.Tensor:
    """Inverse of :func:`stft`: [..., N_BINS, N_FRAMES] complex -> [..., length] audio."""
    import torch
    shape = spec.shape[:-2]
    s = spec.reshape(-1, *spec.shape[-2:])
    s = torch.cat([s, torch.zeros_like(s[:, :1, :])], dim=1)  # restore the Nyquist bin
    a = torch.istft(s, N_FFT, HOP, window=_window(s.real.device), center=True, length=length)
    return a.reshape(*shape, length)


_demod: dict = {}


def _demodulator(n_frames: int, device: torch.device) -> torch.Tensor:
    """R[k, t] = (-1)**k * (-i)**(k t), complex [N_BINS, n_frames] (see module doc)."""
    import torch
    def make() -> torch.Tensor:
        k = torch.arange(N_BINS, device=device)[:, None]
        t = torch.arange(n_frames, device=device)[None, :]
        quarter_turns = (2 * k + k * t * 3) % 4  # (-1)^k = i^(2k), (-i)^(kt) = i^(3kt)
        lut = torch.tensor([1 + 0j, 1j, -1 + 0j, -1j], dtype=torch.complex64, device=device)
        return lut[quarter_turns]
    return _cached(_demod, f"{device}:{n_frames}", make)


_fades: dict = {}


def render_audio(spec: torch.Tensor, length: int = N_SAMPLES) -> torch.Tensor:
    """G's output [B, 2, N_BINS, T] -> the one-shot as played: ``from_model_spec`` times
    ``fade_window`` (differentiable; the window tensor is cached per device)."""
    import torch
    audio = from_model_spec(spec, length)
    fade = _cached(_fades, f"{audio.device}:{length}",
                   lambda: torch.from_numpy(fade_window()[:length]).to(audio.device))
    return audio * fade


def to_model_spec(audio: torch.Tensor) -> torch.Tensor:
    """Audio [B, N_SAMPLES] -> G's target [B, 2, N_BINS, N_FRAMES] (see module doc)."""
    import torch
    x = stft(audio) / SPEC_SCALE
    mag = x.abs().clamp_min(1e-12)
    y = x * mag.pow(COMPRESS - 1.0) * _demodulator(x.shape[-1], x.device) * MODEL_GAIN
    return torch.stack([y.real, y.imag], dim=-3)


def model_spec_to_stft(spec: torch.Tensor) -> torch.Tensor:
    """G's output [B, 2, N_BINS, T] -> the complex STFT [B, N_BINS, T] it stands for (undoes the
    gain, the demodulation and the compression; not necessarily the STFT of any waveform)."""
    import torch
    y = torch.complex(spec[..., 0, :, :].float(), spec[..., 1, :, :].float()) / MODEL_GAIN
    y = y * _demodulator(y.shape[-1], y.device).conj()
    mag = y.abs().clamp_min(1e-12)
    return y * mag.pow(1.0 / COMPRESS - 1.0) * SPEC_SCALE


def from_model_spec(spec: torch.Tensor, length: int = N_SAMPLES) -> torch.Tensor:
    """G's output [B, 2, N_BINS, T] -> audio [B, length]. Exact inverse of to_model_spec."""
    return istft(model_spec_to_stft(spec), length)


def model_magnitude(spec: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """|Y| of model spectra [..., 2, F, T] (real, imag) -> [..., 1, F, T]; ``eps`` keeps sqrt's
    gradient finite at silent bins."""
    return spec.pow(2).sum(-3, keepdim=True).add(eps).sqrt()


def pool_spec(spec: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Downscale a model spectrum [B, 2, F, T] to ``size`` for progressive growing.

    Plain average pooling of complex values cancels wherever phases disagree (across the
    bins of a partial, across the frames of a transient), so low-resolution targets would
    lose most of their energy and every envelope. Here the pooled complex value keeps its
    phase but takes the average *magnitude* of the cell: energy envelopes (decays,
    spectral shape, what makes a kick a kick) survive at every scale.
    """
    import torch.nn.functional as F

    if tuple(spec.shape[-2:]) == tuple(size):
        return spec
    pooled = F.adaptive_avg_pool2d(spec, size)
    mag = F.adaptive_avg_pool2d(model_magnitude(spec, 1e-12), size)
    return pooled * (mag / model_magnitude(pooled, 1e-12))


# ---------------------------------------------------------------- classifier and encoder inputs
def mel_filterbank(n_mels: int = N_MELS, n_freqs: int = N_BINS + 1,
                   fmin: float = MEL_FMIN, fmax: float = MEL_FMAX) -> np.ndarray:
    """Triangular HTK-mel filters [n_mels, n_freqs], each normalised to unit area (Slaney)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0.0, SAMPLE_RATE / 2, n_freqs)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, n_freqs), dtype=np.float64)
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        fb[i] = np.maximum(0.0, np.minimum(up, down)) * (2.0 / max(hi - lo, 1e-9))
    return fb.astype(np.float32)


_mel_fb: dict = {}


def log_mel(audio: torch.Tensor, n_mels: int = N_MELS) -> torch.Tensor:
    """Classifier input: [B, N_SAMPLES] peak-normalised audio -> [B, 1, n_mels, N_FRAMES].

    Power STFT (the full 1025 bins) through a mel bank (128 bands for the
    soft-label classifier; the evaluation classifier uses another size), log10
    with a -100 dB floor, then scaled to roughly unit range.
    """
    import torch
    a = audio.float()
    spec = torch.stft(a, N_FFT, HOP, window=_window(a.device), center=True,
                      pad_mode="reflect", return_complex=True)
    power = spec.real.square() + spec.imag.square()
    fb = _cached(_mel_fb, f"{a.device}:{n_mels}", lambda: torch.from_numpy(mel_filterbank(n_mels)).to(a.device))
    mel = torch.einsum("mf,bft->bmt", fb, power)
    return (torch.log10(mel + 1e-10) / 5.0).unsqueeze(1)


def encoder_input(audio: torch.Tensor, floor_log10: float = ENCODER_FLOOR_LOG10) -> torch.Tensor:
    """Encoder input: [B, N_SAMPLES] -> [B, 1, N_BINS, N_FRAMES] in [0, 1].

    log10 |X| relative to the sound's loudest bin, floored at ``floor_log10``
    (default ENCODER_FLOOR_LOG10, -30 dB; an encoder's config names its own),
    mapped linearly so the floor is 0 and the peak bin is 1.
    """
    return encoder_input_from_mag(stft(audio).abs(), floor_log10)


def encoder_input_from_mag(mag: torch.Tensor, floor_log10: float = ENCODER_FLOOR_LOG10) -> torch.Tensor:
    """As :func:`encoder_input`, from a magnitude spectrogram [B, N_BINS, T]."""
    import torch
    ref = mag.flatten(1).amax(dim=1).clamp_min(1e-9)[:, None, None]
    rel = torch.log10(mag / ref + 1e-12).clamp_min(floor_log10)
    return (1.0 - rel / floor_log10).unsqueeze(1)


def log_magnitude(audio: torch.Tensor, floor_db: float = -80.0) -> torch.Tensor:
    """20 log10 |X| in dB relative to each sound's peak bin, floored (for spectral losses)."""
    import torch
    mag = stft(audio).abs()
    ref = mag.flatten(1).amax(dim=1).clamp_min(1e-9)[:, None, None]
    return (20.0 * torch.log10(mag / ref + 1e-12)).clamp_min(floor_db)


# ---------------------------------------------------------------- soft classes
def sliders_to_classes(sliders) -> np.ndarray:
    """Map the performer's independent [0, 1] sliders to what G was trained on.

    G saw classifier probabilities, which sum to one. Sliders are clipped to
    [0, 1] and normalised to sum 1; all-zero (or non-finite) gives the uniform
    mix. Works on [..., 3].
    """
    s = np.nan_to_num(np.asarray(sliders, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    s = np.clip(s, 0.0, 1.0)
    total = s.sum(axis=-1, keepdims=True)
    uniform = np.full_like(s, 1.0 / N_CLASSES)
    return np.where(total > 1e-6, s / np.maximum(total, 1e-6), uniform).astype(np.float32)
