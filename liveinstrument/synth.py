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
from .paths import shipped_models_dir
from .nets.generator import Generator, GeneratorConfig

DEFAULT_MODELS = shipped_models_dir()   # the shipped models; paths.models_dir() picks user ones first


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


def spectral_shape(spec: torch.Tensor, floor_db: float = -80.0) -> torch.Tensor:
    """Level-free log magnitude of a model spectrum [B, 2, F, T]: log(|Y| / max|Y|), floored.

    |Y| is the compressed magnitude (|X|^COMPRESS), so the floor is floor_db on |X|.
    """
    mag = S.model_magnitude(spec, 1e-12)[:, 0]
    rel = mag / mag.flatten(1).amax(dim=1).clamp_min(1e-9)[:, None, None]
    return torch.log(rel + 1e-12).clamp_min(S.COMPRESS * floor_db / 20.0 * float(np.log(10.0)))


def heard_lsd(spec_hat: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Per-item log-spectral distance (dB) between G's spectra ``spec_hat`` *as heard* and ``ref`` audio.

    The torch twin of ``eval.metrics.lsd_db`` (peak-normalised signals, power STFT, -80 dB
    floor relative to the reference's loudest bin, RMS over bins, mean over frames), taken
    on the rendered audio re-analysed (inverse STFT, fades, STFT), not on G's raw spectrum:
    G's spectra are not always consistent STFTs, and a click at one sample raises the peak
    the level is read from. Differentiable in ``spec_hat``.
    """
    audio = S.render_audio(spec_hat.float())
    est = audio / audio.abs().amax(dim=1, keepdim=True).clamp_min(1e-9)
    ref = ref / ref.abs().amax(dim=1, keepdim=True).clamp_min(1e-9)
    p_ref, p_est = S.stft(ref).abs().pow(2), S.stft(est).abs().pow(2)
    floor = (1e-8 * p_ref.amax(dim=(1, 2), keepdim=True)).clamp_min(1e-20)
    diff = 10.0 * torch.log10(p_est + floor) - 10.0 * torch.log10(p_ref + floor)
    return diff.pow(2).mean(dim=1).add(1e-8).sqrt().mean(dim=1)


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
    def _inference_plan(self):
        """Frozen forward (weights pre-scaled and pre-cast), rebuilt if the weights change."""
        key = (self.bf16, tuple(p._version for p in self.generator.parameters()))
        if getattr(self, "_plan_key", None) != key:
            with torch.inference_mode(False):
                self._plan = self.generator.inference_plan(torch.bfloat16 if self.bf16 else torch.float32)
            self._plan_key = key
        return self._plan

    @torch.inference_mode()
    def generate(self, z: np.ndarray, c: np.ndarray, abort=None) -> np.ndarray | None:
        """z [n, 128], c [n, 3] (soft class probabilities) -> float32 audio [n, N_SAMPLES].

        The output is finite, DC-free-ish (the STFT has no DC bin bias) and
        peak-normalised to 0.99 per sound; silence stays silent. ``abort`` (a
        callable, optional) is polled between generator blocks; when it returns
        true the render stops and ``None`` is returned (preemptible background work).
        """
        z_t = torch.as_tensor(np.asarray(z, dtype=np.float32), device=self.device).reshape(-1, self.latent_dim)
        c_t = torch.as_tensor(np.asarray(c, dtype=np.float32), device=self.device).reshape(-1, S.N_CLASSES)
        spec = self._inference_plan().run(z_t, c_t, abort)
        if spec is None:
            return None
        audio = torch.nan_to_num(S.render_audio(spec), nan=0.0, posinf=0.0, neginf=0.0)
        peak = audio.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
        return (audio * (0.99 / peak)).cpu().numpy().astype(np.float32, copy=False)

    def encode(self, audio: np.ndarray, refine_steps: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """audio [n, N_SAMPLES] at 44.1 kHz (onset at 0) -> (z [n, 128], c [n, 3]).

        ``refine_steps`` > 0 adds analysis by synthesis: gradient steps on (z, c)
        from E's estimate that reduce the log-spectral distance between G(z, c)
        and the input. The live path uses 0 (E alone, a few ms).
        """
        if self.encoder is None:
            raise RuntimeError("no encoder loaded: train one with 'drumgan train encoder' "
                               "or restore models/encoder.safetensors")
        a = torch.as_tensor(np.asarray(audio, dtype=np.float32), device=self.device).reshape(-1, S.N_SAMPLES)
        with torch.inference_mode():
            z, c = self.encoder(self.encoder.features(a))
        z, c = z.float().clone(), c.float().clone()
        if refine_steps > 0:
            z, c = self._refine(a, z, c, refine_steps)
        return z.cpu().numpy(), c.cpu().numpy()

    def _refine(self, audio: torch.Tensor, z: torch.Tensor, c: torch.Tensor,
                steps: int, lr: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
        """Adam on (z, logits of c) against the heard log-spectral distance to ``audio``; each
        sound keeps the best iterate seen, E's own estimate included, so refining never ends
        further from the input (by that distance) than E alone."""
        z = z.clone().requires_grad_(True)
        logits = torch.log(c.clamp_min(1e-4)).clone().requires_grad_(True)
        opt = torch.optim.Adam([z, logits], lr=lr)
        radius = float(np.sqrt(self.latent_dim))
        best_z, best_logits = z.detach().clone(), logits.detach().clone()
        best = torch.full((len(z),), float("inf"), device=z.device)
        self.generator.requires_grad_(False)
        for i in range(steps + 1):
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                spec = self.generator(z, torch.softmax(logits, 1))
            lsd = heard_lsd(spec.float(), audio)
            better = lsd.detach() < best
            best = torch.where(better, lsd.detach(), best)
            best_z[better], best_logits[better] = z.detach()[better], logits.detach()[better]
            if i == steps:
                break
            # dB / 10 keeps the latent-shell term's share as it was beside the spectral-shape loss;
            # staying near the shell where N(0, I) latents live keeps z inside G's domain.
            loss = lsd.mean() / 10.0 + 1e-3 * (z.norm(dim=1) - radius).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return best_z, torch.softmax(best_logits, 1)
