"""The seam between the model side and the live side.

    synth = DrumSynth.load("models")        # or DrumSynth.random() before training
    audio = synth.generate(z, c)            # float32 [n, N_SAMPLES] at 44.1 kHz
    z, c = synth.encode(audio)              # needs models/encoder.safetensors

The live side imports only this module (in the renderer process); the audio
callback imports neither this nor torch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import signal as S
from .modelio import file_hash, load_config, load_weights
from .nets.generator import Generator, GeneratorConfig

DEFAULT_MODELS = Path(__file__).resolve().parent.parent / "models"


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _bf16_ok(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:  # CPUs with AVX-512 BF16 / AMX run bf16 convs 2-3x faster than fp32
        return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except Exception:
        return False


class DrumSynth:
    """Generator (and optional encoder) behind a numpy interface."""

    def __init__(self, generator: Generator, encoder: torch.nn.Module | None = None,
                 device: torch.device | None = None, model_hash: str = "random",
                 bf16: bool | None = None):
        self.device = device or pick_device()
        self.generator = generator.to(self.device).eval()
        self.encoder = encoder.to(self.device).eval() if encoder is not None else None
        self.model_hash = model_hash
        self.bf16 = _bf16_ok(self.device) if bf16 is None else bf16
        self.sample_rate = S.SAMPLE_RATE
        self.n_samples = S.N_SAMPLES
        self.latent_dim = generator.cfg.latent_dim

    # ------------------------------------------------------------ construction
    @classmethod
    def load(cls, models_dir: str | Path = DEFAULT_MODELS, device: str | None = None,
             with_encoder: bool = True) -> "DrumSynth":
        d = Path(models_dir)
        gpath = d / "generator.safetensors"
        cfg = GeneratorConfig(**load_config(gpath)["config"])
        gen = load_weights(Generator(cfg), gpath)
        enc = None
        epath = d / "encoder.safetensors"
        if with_encoder and epath.exists():
            from .nets.encoder import Encoder, EncoderConfig
            enc = load_weights(Encoder(EncoderConfig(**load_config(epath)["config"])), epath)
        return cls(gen, enc, pick_device(device), model_hash=file_hash(gpath))

    @classmethod
    def random(cls, seed: int = 0, device: str | None = None) -> "DrumSynth":
        """An untrained generator of the shipped shape: for developing the live side."""
        torch.manual_seed(seed)
        return cls(Generator(GeneratorConfig()), None, pick_device(device), model_hash=f"random-{seed}")

    # ------------------------------------------------------------ the interface
    @torch.inference_mode()
    def generate(self, z: np.ndarray, c: np.ndarray) -> np.ndarray:
        """z [n, 128], c [n, 3] (soft class probabilities) -> float32 audio [n, N_SAMPLES].

        The output is finite, DC-free-ish (the STFT has no DC bin bias) and
        peak-normalised to 0.99 per sound; silence stays silent.
        """
        z_t = torch.as_tensor(np.asarray(z, dtype=np.float32), device=self.device).reshape(-1, self.latent_dim)
        c_t = torch.as_tensor(np.asarray(c, dtype=np.float32), device=self.device).reshape(-1, S.N_CLASSES)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            spec = self.generator(z_t, c_t)
        audio = S.from_model_spec(spec.float())
        audio = torch.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
        audio = audio * torch.from_numpy(S.fade_window()).to(audio.device)
        peak = audio.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
        return (audio * (0.99 / peak)).cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def encode(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """audio [n, N_SAMPLES] at 44.1 kHz (onset at 0) -> (z [n, 128], c [n, 3])."""
        if self.encoder is None:
            raise RuntimeError("no encoder loaded: train one with 'drumgan train encoder' "
                               "or restore models/encoder.safetensors")
        a = torch.as_tensor(np.asarray(audio, dtype=np.float32), device=self.device).reshape(-1, S.N_SAMPLES)
        z, c = self.encoder(S.encoder_input(a))
        return z.float().cpu().numpy(), c.float().cpu().numpy()
