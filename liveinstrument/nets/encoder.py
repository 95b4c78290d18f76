"""Encoder E: a sound's thresholded log-magnitude STFT -> (z, c) (paper §3.3, Appendix B, Table 3).

Six 3x3 convs (32, 64, 128, 128, 64, 32 channels), strides alternating 2x2 / 2x1,
padding 1: 1024 x 48 -> 16 x 6; flatten (32 x 16 x 6 = 3072); fully connected
3072 -> 1024 -> 512 -> 131. Batch norm after every hidden layer, no biases,
leaky ReLU. The 131 outputs split into z (128, linear) and c (3, softmax).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..signal import encoder_input


@dataclass
class EncoderConfig:
    latent_dim: int = 128
    n_classes: int = 3
    channels: tuple[int, ...] = (32, 64, 128, 128, 64, 32)
    # Input threshold in dB below the sound's loudest bin (signal.encoder_input); the paper's
    # -30 dB (§3.3) unless trained otherwise. Part of the config: weights and threshold go together.
    floor_db: float = -30.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


class Encoder(nn.Module):
    def __init__(self, cfg: EncoderConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or EncoderConfig()
        layers: list[nn.Module] = []
        c_in = 1
        for i, c in enumerate(cfg.channels):
            stride = (2, 2) if i % 2 == 0 else (2, 1)
            layers += [nn.Conv2d(c_in, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2)]
            c_in = c
        self.convs = nn.Sequential(*layers)
        flat = cfg.channels[-1] * 16 * 6  # 1024 x 48 after three 2x2 and three 2x1 strides
        self.fc = nn.Sequential(
            nn.Linear(flat, 3072, bias=False), nn.BatchNorm1d(3072), nn.LeakyReLU(0.2),
            nn.Linear(3072, 1024, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(0.2),
            nn.Linear(1024, 512, bias=False), nn.BatchNorm1d(512), nn.LeakyReLU(0.2),
            nn.Linear(512, cfg.latent_dim + cfg.n_classes))

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio [B, N_SAMPLES] at 44.1 kHz -> this encoder's input (thresholded log magnitude)."""
        return encoder_input(audio, self.cfg.floor_db / 20.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, 1, 1024, 48] (``features``) -> (z [B, 128], c [B, 3] probabilities)."""
        h = self.fc(self.convs(x).flatten(1))
        z, logits = h[:, :self.cfg.latent_dim], h[:, self.cfg.latent_dim:]
        return z, F.softmax(logits, dim=1)
