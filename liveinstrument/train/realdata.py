"""What the GAN and E training loops share: the real training sounds (the train split's
kicks, snares and cymbals plus augmented copies, drawn class-balanced) and the run log."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from .. import signal as S


def balanced_weights(hard: torch.Tensor) -> torch.Tensor:
    """Sampling weight per item so each class is drawn equally often."""
    return (1.0 / torch.bincount(hard, minlength=3).float().clamp_min(1))[hard]


def training_sounds(data_path: str | Path, copies: int, seed: int,
                    exclude_kits: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(audio [n, N] float32, class per row, row of ``data_path`` each row came from).

    Rows are the train split's kick/snare/cymbal sounds (less any kit in ``exclude_kits``,
    e.g. one held out for validation), then ``copies`` augmented versions of each
    (data.augment.augment_set, deterministic for ``seed``).
    """
    from ..data.augment import augment_set
    from ..data.build import load_set

    d = load_set(data_path)
    sel = np.flatnonzero((d["split"] == "train") & (d["label"] < 3) & ~np.isin(d["kit"], list(exclude_kits)))
    audio, hard, rows = d["audio"][sel].astype(np.float32), d["label"][sel], sel
    if copies > 0:
        aug, _, src = augment_set(audio, [S.CLASSES[k] for k in hard], np.random.default_rng(seed), copies)
        audio, hard, rows = np.concatenate([audio, aug]), np.concatenate([hard, hard[src]]), np.concatenate([sel, sel[src]])
    return audio, hard, rows


def set_aside_stale_log(path: Path, header: str) -> None:
    """A run log written by another version (other columns) is renamed log.<time>.csv, not appended to."""
    if path.exists():
        with open(path) as fh:
            if fh.readline().strip() != header:
                path.replace(path.with_name(f"{path.stem}.{int(time.time())}{path.suffix}"))
