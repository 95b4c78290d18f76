"""Building blocks of progressive GANs (Karras et al., 2018) shared by G and D."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class EqualConv2d(nn.Module):
    """Conv with equalized learning rate: weights ~ N(0, 1), scaled by He's constant at run time."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, bias: bool = True,
                 stride: int | tuple[int, int] = 1):
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale = math.sqrt(2.0 / (c_in * kernel * kernel))
        self.pad = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.pad)


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate."""

    def __init__(self, d_in: int, d_out: int, gain: float = math.sqrt(2.0)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in))
        self.bias = nn.Parameter(torch.zeros(d_out))
        self.scale = gain / math.sqrt(d_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Normalise each pixel's feature vector to unit RMS (channel dim 1)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append one channel holding the mean std-dev across a group of the batch."""
    b, c, h, w = x.shape
    g = min(group, b)
    while b % g:
        g -= 1
    y = x.float().reshape(g, -1, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # [b/g]
    y = y.repeat(g).reshape(b, 1, 1, 1).expand(b, 1, h, w).to(x.dtype)
    return torch.cat([x, y], dim=1)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)
