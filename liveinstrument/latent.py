"""Latent-space moves shared by the CLI and the live engine (paper Appendix A)."""
from __future__ import annotations

import numpy as np

from .signal import LATENT_DIM


def random_direction(rng: np.random.Generator, dim: int = LATENT_DIM) -> np.ndarray:
    """A unit vector drawn uniformly on the sphere (the 'change variation direction' button)."""
    v = rng.standard_normal(dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


def orthonormal_pair(rng: np.random.Generator, dim: int = LATENT_DIM) -> tuple[np.ndarray, np.ndarray]:
    """(e1, e2) orthonormal, for the XY plane of paper Fig. 1."""
    e1 = random_direction(rng, dim)
    e2 = rng.standard_normal(dim)
    e2 -= e2.dot(e1) * e1
    return e1, (e2 / np.linalg.norm(e2)).astype(np.float32)


def vary(z_center: np.ndarray, alpha: float, e1: np.ndarray, beta: float = 0.0,
         e2: np.ndarray | None = None) -> np.ndarray:
    """z = z_center + alpha e1 (+ beta e2)."""
    z = np.asarray(z_center, np.float32) + np.float32(alpha) * e1
    if e2 is not None and beta:
        z = z + np.float32(beta) * e2
    return z.astype(np.float32)
