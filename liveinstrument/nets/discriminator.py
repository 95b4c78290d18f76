"""Discriminator D: mirrors G; outputs the Wasserstein critic and a regression of c (paper §2.1)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..signal import pool_spec
from .generator import SCALES
from .layers import EqualConv2d, EqualLinear, lrelu, minibatch_stddev


@dataclass
class DiscriminatorConfig:
    n_classes: int = 3
    widths: list[int] = field(default_factory=lambda: [128, 96, 64, 32, 16, 8])  # per scale, like G
    convs: list[int] = field(default_factory=lambda: [2, 1, 1, 1, 1, 1])  # 3x3 convs per block

    def to_dict(self) -> dict:
        return asdict(self)


class DBlock(nn.Module):
    """(n_convs - 1) 3x3 convs at the block's resolution, then a strided 3x3 conv that
    downsamples: computing the widest conv at the lower resolution makes the
    critic 2-4x cheaper at the top scales, which is what CPU training needs."""

    def __init__(self, c_in: int, c_out: int, n_convs: int, stride: tuple[int, int]):
        super().__init__()
        self.convs = nn.ModuleList(EqualConv2d(c_in, c_in) for _ in range(n_convs - 1))
        self.down = EqualConv2d(c_in, c_out, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = lrelu(conv(x))
        return lrelu(self.down(x))


class Discriminator(nn.Module):
    def __init__(self, cfg: DiscriminatorConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or DiscriminatorConfig()
        w = cfg.widths
        n = len(SCALES)
        self.from_spec = nn.ModuleList(EqualConv2d(2, w[i], kernel=1) for i in range(n))
        # block i takes scale i down to scale i-1 (block 0 is the final 32 x 6 stage).
        strides = [(SCALES[i][0] // SCALES[i - 1][0], SCALES[i][1] // SCALES[i - 1][1]) for i in range(1, n)]
        self.blocks = nn.ModuleList(DBlock(w[i], w[i - 1], cfg.convs[i], strides[i - 1]) for i in range(1, n))
        self.final_conv = EqualConv2d(w[0] + 1, w[0])
        self.final_down = EqualConv2d(w[0], w[0])
        self.head = EqualLinear(w[0] * 16 * 3, w[0])
        self.out = EqualLinear(w[0], 1 + cfg.n_classes, gain=1.0)

    def forward(self, x: torch.Tensor, scale: int | None = None,
                alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, 2, H, W] at ``scale`` -> (critic [B], class regression [B, 3])."""
        scale = len(SCALES) - 1 if scale is None else scale
        h = lrelu(self.from_spec[scale](x))
        for i in range(scale, 0, -1):
            h = self.blocks[i - 1](h)
            if i == scale and alpha < 1.0:
                skip = lrelu(self.from_spec[i - 1](pool_spec(x, SCALES[i - 1])))
                h = torch.lerp(skip, h, alpha)
        h = lrelu(self.final_conv(minibatch_stddev(h)))
        h = F.adaptive_avg_pool2d(lrelu(self.final_down(h)), (16, 3))
        h = lrelu(self.head(h.flatten(1)))
        o = self.out(h)
        return o[:, 0], o[:, 1:]
