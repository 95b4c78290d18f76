"""Helpers shared by the model-side tests: real sounds, real files, real (untrained) models.

Nothing here is a mock: sounds come from the procedural drum synth, files are
written with soundfile, and models are freshly initialised networks saved with
``modelio.save_model`` exactly as training ships them (fp16 safetensors + JSON).
Imported as a plain module (pytest puts ``tests/`` on sys.path).
"""
from __future__ import annotations

import contextlib
import pickle
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from liveinstrument import signal as S

torch.set_num_threads(1)  # the machine is shared with a training job: stay on one core


def drum(cls: str, seed: int) -> np.ndarray:
    """A realistic one-shot of class ``cls`` (kick/snare/cymbal), float32 [N_SAMPLES], peak 1."""
    from liveinstrument.data.procedural import synth

    return synth(cls, np.random.default_rng(seed))


def write_audio(path: str | Path, audio: np.ndarray, sr: int = S.SAMPLE_RATE, **kw) -> Path:
    """Write ``audio`` ([frames] or [frames, channels]) with soundfile; format from the suffix."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(p), np.asarray(audio, dtype=np.float32), sr, **kw)
    return p


def at_rate(x: np.ndarray, sr: int) -> np.ndarray:
    """``x`` (44.1 kHz) resampled to ``sr`` so that a file at ``sr`` holds the same sound."""
    from liveinstrument.audio_io import resample

    return resample(x, S.SAMPLE_RATE, sr)


def save_random_models(models_dir: str | Path, seed: int = 0, encoder: bool = True,
                       classifier: bool = True) -> Path:
    """Randomly initialised G (shipped compact shape), classifier and encoder, saved as shipped."""
    from liveinstrument.modelio import save_model
    from liveinstrument.nets.classifier import Classifier, ClassifierConfig
    from liveinstrument.nets.encoder import Encoder, EncoderConfig
    from liveinstrument.nets.generator import Generator, GeneratorConfig

    d = Path(models_dir)
    torch.manual_seed(seed)
    g = Generator(GeneratorConfig())
    save_model(g, d / "generator.safetensors", g.cfg.to_dict())
    if classifier:
        c = Classifier(ClassifierConfig(width=8)).eval()
        save_model(c, d / "classifier.safetensors", c.cfg.to_dict(), extra={"classes": list(S.CLASSES)})
    if encoder:
        e = Encoder(EncoderConfig()).eval()
        save_model(e, d / "encoder.safetensors", e.cfg.to_dict())
    return d


def assert_fp16_safetensors(path: str | Path) -> None:
    """``path`` opens as safetensors (no pickle possible) and its float tensors are fp16."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())
        assert keys, f"{path}: no tensors"
        dtypes = {f.get_tensor(k).dtype for k in keys}
    floats = {d for d in dtypes if d.is_floating_point}
    assert floats == {torch.float16}, f"{path}: float dtypes {floats}"
    assert Path(path).with_suffix(".json").exists()


@contextlib.contextmanager
def no_pickle(monkeypatch):
    """Any use of pickle (or torch.load, which unpickles) inside the block fails the test."""
    def refuse(*a, **k):
        raise AssertionError("pickle used while loading models")

    class Refuse(pickle.Unpickler):
        def __init__(self, *a, **k):
            refuse()

    with monkeypatch.context() as m:
        m.setattr(pickle, "load", refuse)
        m.setattr(pickle, "loads", refuse)
        m.setattr(pickle, "Unpickler", Refuse)
        m.setattr(torch, "load", refuse)
        yield


def log_spec_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS difference of peak-relative dB spectrograms per sound (small = similar)."""
    with torch.no_grad():
        x = S.log_magnitude(torch.from_numpy(np.atleast_2d(a).astype(np.float32)))
        y = S.log_magnitude(torch.from_numpy(np.atleast_2d(b).astype(np.float32)))
    return (x - y).pow(2).mean(dim=(1, 2)).sqrt().numpy()
