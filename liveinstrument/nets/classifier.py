"""Soft-label classifier: an Inception-style CNN on 128-bin log-mel spectrograms (paper §3.2).

Input [B, 1, n_mels, 48] (signal.log_mel); outputs logits over (kick, snare, cymbal)
and, for the evaluation metrics (IS / KID / Fréchet distance), a pooled embedding.
Inception modules (Szegedy et al., 2016) in miniature: parallel 1x1, 3x3,
factorised 5x5 (two 3x3) and pooled branches, concatenated.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ClassifierConfig:
    n_mels: int = 128
    n_classes: int = 3
    width: int = 32       # channels of the stem; Inception blocks use multiples of it
    embed_dim: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


def conv_bn(c_in: int, c_out: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Inception(nn.Module):
    def __init__(self, c_in: int, c: int):
        super().__init__()
        self.b1 = conv_bn(c_in, c, 1)
        self.b3 = nn.Sequential(conv_bn(c_in, c, 1), conv_bn(c, c, 3))
        self.b5 = nn.Sequential(conv_bn(c_in, c // 2, 1), conv_bn(c // 2, c, 3), conv_bn(c, c, 3))
        self.bp = nn.Sequential(nn.AvgPool2d(3, 1, 1), conv_bn(c_in, c, 1))
        self.out_channels = 4 * c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


class Classifier(nn.Module):
    def __init__(self, cfg: ClassifierConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or ClassifierConfig()
        w = cfg.width
        self.stem = nn.Sequential(conv_bn(1, w), conv_bn(w, w))
        self.inc1 = Inception(w, w // 2)             # -> 2w channels
        self.inc2 = Inception(self.inc1.out_channels, w)       # -> 4w
        self.inc3 = Inception(self.inc2.out_channels, w)       # -> 4w
        self.embed = nn.Linear(self.inc3.out_channels * 2, cfg.embed_dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.embed_dim, cfg.n_classes)

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 1, n_mels, T] -> [B, embed_dim] (the features the distribution metrics use)."""
        x = F.max_pool2d(self.stem(x), 2)
        x = F.max_pool2d(self.inc1(x), 2)
        x = F.max_pool2d(self.inc2(x), 2)
        x = self.inc3(x)
        # Mean and max pooling: a hat's short burst and a crash's long wash both register.
        x = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return F.relu(self.embed(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embedding(x)))
