"""The shipped kick/snare/cymbal classifier as a numpy function (soft labels, metrics)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import signal as S
from .modelio import load_config, load_weights
from .paths import shipped_models_dir
from .nets.classifier import Classifier, ClassifierConfig

MODELS = shipped_models_dir()   # the shipped models (paths.model_file prefers the user's copy)


class SoundClassifier:
    """``probs(audio)`` and ``embed(audio)`` on peak-normalised one-shots [n, N_SAMPLES]."""

    def __init__(self, path: str | Path = MODELS / "classifier.safetensors"):
        cfg = ClassifierConfig(**load_config(path)["config"])
        self.model = load_weights(Classifier(cfg), path).eval()
        self.n_mels = cfg.n_mels

    @torch.inference_mode()
    def _feats(self, audio: np.ndarray) -> torch.Tensor:
        a = S.peak_normalize(np.atleast_2d(np.asarray(audio, np.float32)))
        return S.log_mel(torch.from_numpy(a), self.n_mels)

    @torch.inference_mode()
    def probs(self, audio: np.ndarray, batch: int = 128) -> np.ndarray:
        out = [torch.softmax(self.model(self._feats(audio[i:i + batch])), 1)
               for i in range(0, len(np.atleast_2d(audio)), batch)]
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def embed(self, audio: np.ndarray, batch: int = 128) -> np.ndarray:
        out = [self.model.embedding(self._feats(audio[i:i + batch]))
               for i in range(0, len(np.atleast_2d(audio)), batch)]
        return torch.cat(out).numpy()
