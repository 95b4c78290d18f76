"""Differentiable augmentation of the critic's input (Zhao et al., 2020, "DiffAugment").

With a few hundred real sounds the critic memorises the training set within a few
thousand steps: the Wasserstein estimate climbs at every scale and G stops
learning. Showing D both real and generated spectra through the same random,
differentiable transforms (and back-propagating G's loss through them) removes
that shortcut without leaking the transforms into G's output distribution.

Transforms on model spectra [B, 2, F, T] (signal.to_model_spec), each per sample:
- gain: the whole spectrum times g ** COMPRESS, g within +-``gain_db`` (a level change);
- delay: delay by 0..T/8 frames, zero-filled, phase-correct on the demodulated grid (the
  time shift of the sound itself; see :func:`delay_frames`);
- shift: (legacy, what the shipped G's earlier steps trained with) delay or advance by up to
  T/8 frames *without* turning the phases: on the demodulated grid that is not a time shift
  of any sound (odd bins get the wrong phase per frame of shift), so D was shown spectra no
  waveform has;
- cutout: zero one random time-frequency rectangle of (F/4) x (T/4).
"""
from __future__ import annotations

import torch

from .. import signal as S

POLICIES = ("gain", "delay", "shift", "cutout")
DEFAULT_POLICY = ("gain", "delay", "cutout")


def delay_frames(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Delay model spectra [B, 2, F, T] by ``m`` [B] whole frames (m >= 0), zero-filled: exactly
    what delaying the waveform by ``m * HOP`` samples does to signal.to_model_spec.

    The STFT of the delayed sound is the frame-shifted STFT (X'[k, t] = X[k, t - m]), but the
    demodulation R[k, t] = (-1)**k (-i)**(k t) depends on t: R[k, t] / R[k, t - m] = (-i)**(k m),
    so bin k must also turn by k*m quarter turns (HOP = N_FFT / 4: one hop advances bin k's
    centre frequency by k quarter periods). The bins of a scale below full resolution stand
    for blocks of full-resolution bins and have no single such phase; there the plain frame
    shift is applied (at least it then is a shift of the coarse magnitudes).
    """
    b, ch, f, t = x.shape
    dev = x.device
    src = torch.arange(t, device=dev).view(1, t) - m.view(b, 1)
    valid = (src >= 0) & (src < t)
    idx = src.clamp(0, t - 1).view(b, 1, 1, t).expand(b, ch, f, t)
    y = torch.gather(x, 3, idx) * valid.view(b, 1, 1, t).to(x.dtype)
    if f != S.N_BINS:
        return y
    quarter = (torch.arange(f, device=dev).view(1, f) * m.view(b, 1)) % 4        # [b, f]
    cos = torch.tensor([1.0, 0.0, -1.0, 0.0], device=dev, dtype=x.dtype)[quarter]
    sin = torch.tensor([0.0, -1.0, 0.0, 1.0], device=dev, dtype=x.dtype)[quarter]  # (-i)^q
    re, im = y[:, 0], y[:, 1]
    cos, sin = cos.view(b, f, 1), sin.view(b, f, 1)
    return torch.stack([re * cos - im * sin, re * sin + im * cos], dim=1)


def diff_augment(x: torch.Tensor, policy: tuple[str, ...] = DEFAULT_POLICY, gain_db: float = 6.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment a batch of model spectra; differentiable with respect to ``x``."""
    b, _, f, t = x.shape
    dev = x.device

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator).to(dev)

    if "gain" in policy:
        db = (rand(b) * 2.0 - 1.0) * gain_db
        x = x * (10.0 ** (db / 20.0 * S.COMPRESS)).view(b, 1, 1, 1).to(x.dtype)
    if "delay" in policy and t >= 8:
        m = (rand(b) * (t // 8 + 1)).long()  # [0, T/8]
        x = delay_frames(x, m)
    if "shift" in policy and t >= 8:
        max_shift = max(1, t // 8)
        shift = (rand(b) * (2 * max_shift + 1)).long() - max_shift  # [-max, max]
        src = torch.arange(t, device=dev).view(1, t) - shift.view(b, 1)  # output frame j reads j - shift
        valid = (src >= 0) & (src < t)
        idx = src.clamp(0, t - 1).view(b, 1, 1, t).expand(b, x.shape[1], f, t)
        x = torch.gather(x, 3, idx) * valid.view(b, 1, 1, t).to(x.dtype)
    if "cutout" in policy:
        hf, ht = max(1, f // 4), max(1, t // 4)
        f0 = (rand(b) * (f - hf + 1)).long().view(b, 1)
        t0 = (rand(b) * (t - ht + 1)).long().view(b, 1)
        fr = torch.arange(f, device=dev).view(1, f)
        tr = torch.arange(t, device=dev).view(1, t)
        in_f = (fr >= f0) & (fr < f0 + hf)  # [b, f]
        in_t = (tr >= t0) & (tr < t0 + ht)  # [b, t]
        hole = in_f.view(b, 1, f, 1) & in_t.view(b, 1, 1, t)
        x = x * (~hole).to(x.dtype)
    return x
