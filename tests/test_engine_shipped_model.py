"""The shipped weights through the live engine: controls move the sound the asked way.

Real generator (models/generator.safetensors), real engine (the same Instrument, renderer
code and mixer as `drumgan live`, run synchronously), judged by the shipped evaluation
classifier (not the one whose labels trained G).
"""
import json
from pathlib import Path

import numpy as np
import pytest

from liveinstrument import signal as S
from liveinstrument.classify import SoundClassifier
from liveinstrument.engine.instrument import Instrument
from liveinstrument.engine.offline import Hit, render_hits

MODELS = Path(__file__).resolve().parent.parent / "models"


def _trained_scale() -> int:
    p = MODELS / "generator.json"
    return json.loads(p.read_text())["config"].get("trained_scale", 5) if p.exists() else -1


# Enforced as soon as a generator that finished progressive growing ships (models/README.md
# says how far the current one got); a half-grown G has no class structure to test yet.
pytestmark = pytest.mark.skipif(_trained_scale() < 5, reason=f"shipped generator is at progressive-growing "
                                f"scale {_trained_scale()} of 5 (see models/README.md)")


def _render_pads(settings: list[dict], seed: int) -> np.ndarray:
    """One hit per pad, 1 s apart; returns the hits' mono audio [n_pads, N_SAMPLES]."""
    sr = S.SAMPLE_RATE
    with Instrument(n_pads=len(settings), models_dir=MODELS, seed=seed, synchronous=True) as inst:
        for p, params in enumerate(settings, start=1):
            for name, value in {"round_robin": 0.0, "tune": 0.5, "decay": 1.0, "pan": 0.5,
                                "velocity_timbre": 0.0, **params}.items():
                inst.set_param(p, name, value)
        hits = [Hit(sample=i * sr, pad=i + 1, velocity=1.0) for i in range(len(settings))]
        audio = render_hits(inst, hits).mean(axis=1)
    audio = np.pad(audio, (0, max(0, len(settings) * sr + S.N_SAMPLES - audio.size)))  # trailing silence is trimmed
    return np.stack([audio[i * sr:i * sr + S.N_SAMPLES] for i in range(len(settings))])


def test_raising_the_kick_slider_raises_the_kick_probability():
    judge = SoundClassifier(MODELS / "eval_classifier.safetensors")
    lo, hi = [], []
    for seed in range(4):
        # same pads (same z per pad index and seed), only the kick slider differs
        a = _render_pads([{"kick": 0.0, "snare": 1.0, "cymbal": 0.0}] * 3, seed)
        b = _render_pads([{"kick": 1.0, "snare": 0.0, "cymbal": 0.0}] * 3, seed)
        assert np.all(np.isfinite(a)) and np.max(np.abs(a)) <= 1.0
        lo.append(judge.probs(a)[:, 0])
        hi.append(judge.probs(b)[:, 0])
    lo, hi = np.concatenate(lo), np.concatenate(hi)
    assert hi.mean() > lo.mean() + 0.2, (lo.mean(), hi.mean())
    assert (hi > lo).mean() >= 0.75, (lo, hi)
