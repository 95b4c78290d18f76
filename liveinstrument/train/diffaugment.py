"""Differentiable augmentation of the critic's input (Zhao et al., 2020, "DiffAugment").

With a few hundred real sounds the critic memorises the training set within a few
thousand steps: the Wasserstein estimate climbs at every scale and G stops
learning. Showing D both real and generated spectra through the same random,
differentiable transforms (and back-propagating G's loss through them) removes
that shortcut without leaking the transforms into G's output distribution.

Transforms on model spectra [B, 2, F, T] (signal.to_model_spec), each per sample:
- gain: the whole spectrum times g ** COMPRESS, g within +-``gain_db`` (a level change);
- shift: delay or advance by up to T/8 frames, zero-filled (an onset-time jitter);
- cutout: zero one random time-frequency rectangle of (F/4) x (T/4).
"""
from __future__ import annotations

import torch

from .. import signal as S

POLICIES = ("gain", "shift", "cutout")


def diff_augment(x: torch.Tensor, policy: tuple[str, ...] = POLICIES, gain_db: float = 6.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment a batch of model spectra; differentiable with respect to ``x``."""
    b, _, f, t = x.shape
    dev = x.device

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator).to(dev)

    if "gain" in policy:
        db = (rand(b) * 2.0 - 1.0) * gain_db
        x = x * (10.0 ** (db / 20.0 * S.COMPRESS)).view(b, 1, 1, 1).to(x.dtype)
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
