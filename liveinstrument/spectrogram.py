"""Spectrogram pictures (PNG): what the training run's snapshots and the listening page show.
Below eval and train alike (train writes snapshots; it does not import eval)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import signal as S


def _colormap(v: np.ndarray) -> np.ndarray:
    """A perceptually ordered dark-blue -> magenta -> yellow map for values in [0, 1] -> RGB uint8."""
    stops = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99],
                      [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float32)
    x = np.clip(v, 0, 1) * (len(stops) - 1)
    i = np.minimum(x.astype(int), len(stops) - 2)
    f = (x - i)[..., None]
    return (stops[i] * (1 - f) + stops[i + 1] * f).astype(np.uint8)


def spectrogram_image(audio: np.ndarray, height: int = 256, floor_db: float = -80.0) -> np.ndarray:
    """[N] audio -> RGB uint8 [height, frames*4, 3], log-frequency axis, dB relative to peak."""
    mag = S.stft(torch.from_numpy(np.asarray(audio, np.float32))[None]).abs()[0].numpy()
    db = 20 * np.log10(mag / max(mag.max(), 1e-9) + 1e-12)
    # Log-spaced rows so kicks are not squashed into the bottom few pixels.
    f = np.geomspace(1, S.N_BINS - 1, height).astype(int)
    img = (np.clip(db[f], floor_db, 0) - floor_db) / -floor_db
    img = np.repeat(img[::-1], 4, axis=1)
    return _colormap(img)


def spectrogram_png(audio: np.ndarray, path: str | Path, cols: int = 3) -> None:
    """Save one PNG with the spectrograms of a batch [n, N] in a grid."""
    from PIL import Image

    audio = np.atleast_2d(audio)
    tiles = [spectrogram_image(a) for a in audio]
    h, w, _ = tiles[0].shape
    rows = (len(tiles) + cols - 1) // cols
    grid = np.zeros((rows * (h + 4), cols * (w + 4), 3), dtype=np.uint8)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        grid[r * (h + 4):r * (h + 4) + h, c * (w + 4):c * (w + 4) + w] = t
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(str(path))
