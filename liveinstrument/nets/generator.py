"""Generator G: (z, c) -> compressed, demodulated complex STFT [2, 1024, 48] (paper §2.1, §3).

Progressive growing (Karras et al., 2018) as in DrumGAN: six blocks, each doubling
the frequency axis (and the time axis until it reaches 48 frames), nearest-
neighbour upsampling, two 3x3 convs with pixel norm and leaky ReLU, a 1x1
"to-spectrum" head per scale; a new block fades in over the previous scale's
upsampled output. Equalized learning rate everywhere.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import EqualConv2d, EqualLinear, lrelu, pixel_norm

# (frequency bins, frames) at each of the six scales; the last is the model's output.
SCALES: tuple[tuple[int, int], ...] = ((32, 6), (64, 12), (128, 24), (256, 48), (512, 48), (1024, 48))


@dataclass
class GeneratorConfig:
    latent_dim: int = 128
    n_classes: int = 3
    # c is scaled by this before joining z: concatenated raw, 3 class inputs next to 128
    # unit-RMS latent inputs behind one equalized-lr layer get ~1/10 of the latent's pull
    # and ~1/10 of its effective learning rate, and G learned to ignore c. sqrt(128 / 3)
    # puts a one-hot c on the same per-input footing as the latent.
    class_gain: float = 6.53
    widths: list[int] = field(default_factory=lambda: [128, 96, 64, 32, 16, 8])  # compact (CPU) preset
    convs: list[int] = field(default_factory=lambda: [2, 1, 1, 1, 1, 1])  # 3x3 convs per block
    # How far progressive growing has got: a generator exported mid-schedule renders at this
    # scale (blending with the previous one by ``fade``) and is upsampled to full size.
    trained_scale: int = 5
    fade: float = 1.0
    # From this scale up, a block's head *adds* detail to the upsampled output of the scale
    # below (a StyleGAN2-style skip generator) instead of replacing it, and starts at zero.
    # A new top block then begins exactly where the scale below stood, and its noise cannot
    # wipe out what the lower scales learned (with replacing heads, each new block's random
    # broadband output undid the class structure for thousands of samples). 6 = never.
    residual_from: int = 6

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    "compact": GeneratorConfig(residual_from=4),
    "paper": GeneratorConfig(widths=[256, 256, 256, 128, 64, 32], convs=[2] * 6),
}


class GBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, n_convs: int):
        super().__init__()
        self.convs = nn.ModuleList(EqualConv2d(c_in if j == 0 else c_out, c_out) for j in range(n_convs))

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        x = F.interpolate(x, size=size, mode="nearest")
        for conv in self.convs:
            x = pixel_norm(lrelu(conv(x)))
        return x


class Generator(nn.Module):
    def __init__(self, cfg: GeneratorConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or GeneratorConfig()
        w = cfg.widths
        assert len(w) == len(SCALES), "one width per scale"
        # The latent is projected to a 16 x 3 grid, then block 0 upsamples it to 32 x 6.
        self.input = EqualLinear(cfg.latent_dim + cfg.n_classes, w[0] * 16 * 3, gain=1.0)
        self.blocks = nn.ModuleList(GBlock(w[max(i - 1, 0)], w[i], cfg.convs[i]) for i in range(len(SCALES)))
        self.to_spec = nn.ModuleList(EqualConv2d(w[i], 2, kernel=1) for i in range(len(SCALES)))
        with torch.no_grad():
            for head in self.to_spec[max(cfg.residual_from, 1):]:
                head.weight.zero_()  # residual heads start silent (see GeneratorConfig)

    def forward(self, z: torch.Tensor, c: torch.Tensor, scale: int | None = None,
                alpha: float = 1.0) -> torch.Tensor:
        """[B, 128], [B, 3] -> [B, 2, H, W] at ``scale``.

        ``alpha`` < 1 blends the newest block with the upsampled previous scale. With
        ``scale=None`` the output is always full size (1024 x 48): rendered at the
        scale training has reached and upsampled from there if that is lower.
        """
        if scale is None:
            out = self(z, c, self.cfg.trained_scale, self.cfg.fade)
            if out.shape[-2:] != SCALES[-1]:
                out = F.interpolate(out, size=SCALES[-1], mode="nearest")
            return out
        x = torch.cat([pixel_norm(z), c.to(z.dtype) * self.cfg.class_gain], dim=1)
        x = pixel_norm(lrelu(self.input(x)).view(z.shape[0], -1, 16, 3))
        r = max(self.cfg.residual_from, 1)
        prev = out = None
        for i in range(scale + 1):
            if i == scale and alpha < 1.0 and 0 < i < r:
                prev = self.to_spec[i - 1](x)
            x = self.blocks[i](x, SCALES[i])
            if i == r - 1 and scale >= r:
                out = self.to_spec[i](x)  # the base the residual heads refine
            elif i >= r:
                detail = self.to_spec[i](x)
                out = _upsample_int(out, SCALES[i]) + (detail * alpha if i == scale else detail)
        if scale < r:
            out = self.to_spec[scale](x)
            if prev is not None:
                out = torch.lerp(F.interpolate(prev, size=SCALES[scale], mode="nearest"), out, alpha)
        return out

    # ------------------------------------------------------------ fast inference (live renderer)
    def inference_plan(self, dtype: torch.dtype = torch.float32) -> "InferencePlan":
        """A frozen, preemptible full-resolution forward for inference (see :class:`InferencePlan`)."""
        return InferencePlan(self, dtype)


def _upsample_int(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour upsampling by integer factors (== F.interpolate 'nearest', faster on CPU)."""
    b, c, h, w = x.shape
    fh, fw = size[0] // h, size[1] // w
    if fh * h != size[0] or fw * w != size[1]:
        return F.interpolate(x, size=size, mode="nearest")
    return x[:, :, :, None, :, None].expand(b, c, h, fh, w, fw).reshape(b, c, size[0], size[1])


class InferencePlan:
    """``Generator.forward`` at full resolution with the weights frozen once.

    Equalized-LR scales are folded into the weights and the weights are cast to
    ``dtype`` up front (autocast re-did both on every call: ~1/5 of a CPU render),
    upsampling uses a broadcast copy, and the pixel-norm statistics are taken in
    float32. ``run`` can stop between blocks when ``abort()`` turns true (a newer
    render request preempts background work within one block instead of one
    whole render). Snapshot semantics: later weight updates are not seen.
    """

    def __init__(self, g: Generator, dtype: torch.dtype = torch.float32):
        self.dtype = dtype
        with torch.no_grad():
            def fold(m):
                b = m.bias.detach().to(dtype) if m.bias is not None else None
                return (m.weight.detach() * m.scale).to(dtype).contiguous(), b
            # render at the scale training has reached (as ``forward(scale=None)`` does)
            self.scale = int(getattr(g.cfg, "trained_scale", len(SCALES) - 1))
            self.class_gain = float(g.cfg.class_gain)
            self.fade = float(getattr(g.cfg, "fade", 1.0))
            self.lin = fold(g.input)
            self.blocks = [[fold(cv) for cv in blk.convs] for blk in g.blocks[:self.scale + 1]]
            self.r = max(int(getattr(g.cfg, "residual_from", len(SCALES))), 1)
            self.head = fold(g.to_spec[self.scale])
            self.heads = {i: fold(g.to_spec[i]) for i in range(self.r - 1, self.scale + 1)} if self.scale >= self.r else {}
            self.prev_head = (fold(g.to_spec[self.scale - 1])
                              if self.fade < 1.0 and 0 < self.scale < self.r else None)

    @staticmethod
    def _pn(x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.float().pow(2).mean(dim=1, keepdim=True) + 1e-8).to(x.dtype)

    def run(self, z: torch.Tensor, c: torch.Tensor, abort=None) -> torch.Tensor | None:
        """[B, 128], [B, 3] -> float32 [B, 2, 1024, 48]; None when ``abort()`` said stop."""
        x = torch.cat([pixel_norm(z.float()), c.float() * self.class_gain], dim=1).to(self.dtype)
        x = self._pn(F.leaky_relu(F.linear(x, *self.lin), 0.2).view(z.shape[0], -1, 16, 3))
        prev = out = None
        for i, convs in enumerate(self.blocks):
            if abort is not None and abort():
                return None
            if i == self.scale and self.prev_head is not None:
                prev = F.conv2d(x, *self.prev_head)
            x = _upsample_int(x, SCALES[i])
            for w, b in convs:
                x = self._pn(F.leaky_relu(F.conv2d(x, w, b, padding=w.shape[-1] // 2), 0.2))
            if i in self.heads:
                head = F.conv2d(x, *self.heads[i])
                if out is None:
                    out = head
                else:
                    out = _upsample_int(out, SCALES[i]) + (head * self.fade if i == self.scale else head)
        if out is None:
            out = F.conv2d(x, *self.head)
            if prev is not None:
                out = torch.lerp(_upsample_int(prev, SCALES[self.scale]), out, self.fade)
        if out.shape[-2:] != SCALES[-1]:
            out = _upsample_int(out, SCALES[-1])
        return out.float()

