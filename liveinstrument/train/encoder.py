"""Train the encoder E on G's own outputs (paper §3.3, §4.1, Appendix B).

Each step draws fresh z ~ N(0, I) and soft labels c of real training sounds
(class-balanced), renders G(z, c) to audio (so E sees the STFT of real audio,
exactly as at analysis time, not G's raw and possibly inconsistent spectrum),
and minimises
    alpha * MSE((z^, c^), (z, c)) + beta * MSE(log|G(z^, c^)|, log|G(z, c)|)
with alpha = 1, beta = 3, lr 1e-4, batch 28. Drawing fresh latents each step
rather than the paper's fixed set removes one way to overfit at no cost.
G is frozen. Resumable from ``runs/encoder``.

Beyond the paper (``--real-weight W``; default 2, as the shipped E; 0 = the paper's
recipe): each step also encodes a class-balanced batch of *real training* sounds and
adds W times the level-free log-spectral distance between G(E(x)) and x (the
analysis-by-synthesis loss the refinement uses). G's outputs alone never show E a
real recording's room, noise floor or partials G cannot make, so on real input E's
estimate lands off G's manifold; this term trains E on exactly the mapping it is
used for. The test kit is never seen (data.build keeps it in its own split).

Checkpoint choice (``--val-kit``): one training kit is held out of the real-sound term;
every ``ckpt_every`` steps the moving average of E is scored on it (fast-path LSD of
G(E(x)) against x, as ``drumgan eval encoder``) and the best so far is what ships. E's
checkpoints swing by ~1 dB on a kit they never saw; choosing among them by a held-out
training kit, never by the test kit, keeps the test kit's figure honest.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from .. import signal as S
from ..modelio import file_hash, load_config, load_weights, save_model
from ..nets.encoder import Encoder, EncoderConfig
from ..nets.generator import Generator, GeneratorConfig
from ..synth import heard_lsd, spectral_shape
from .realdata import balanced_weights, set_aside_stale_log, training_sounds


@dataclass
class EncoderTrainConfig:
    steps: int = 6000
    batch: int = 28
    lr: float = 1e-4
    alpha: float = 1.0
    beta: float = 3.0
    seed: int = 0
    ckpt_every: int = 200
    real_weight: float = 2.0   # analysis-by-synthesis loss on real training sounds (0 = the paper's recipe)
    real_batch: int = 14
    real_copies: int = 3       # augmented copies of each real sound (RealSounds)
    # Relative share of kicks, snares, cymbals in the real batch. Cymbals get twice a kick's:
    # they are the hardest class for E on every set (LSD ~12 dB fast against ~4 for kicks,
    # even on the training kits it fits), so an even split spends most of the term where E
    # is already good.
    real_share: tuple[float, float, float] = (1.0, 1.0, 2.0)
    # Weight (per dB) of the log-spectral distance of G(E(x))'s *audio* to x (heard_lsd) on the
    # real sounds; 0 = off (the spectral-shape term alone, as the E of sitting 3).
    real_lsd_weight: float = 0.2
    # What ships is a moving average of E's weights (and batch-norm statistics), half-life in steps:
    # single checkpoints of E swung by ~0.7 dB LSD on an unseen kit between step 200 and 400.
    ema_steps: float = 50.0
    # A training kit held out of the real-sound term to choose the checkpoint that ships
    # ("" = none: the last checkpoint ships). An acoustic kit, as the kits E is judged on.
    val_kit: str = "ColomboAcousticDrumkit"


def log_mag(spec: torch.Tensor) -> torch.Tensor:
    """log of G's (compressed) magnitude: the spectral term compares these."""
    return torch.log(S.model_magnitude(spec.float())[:, 0] + 1e-3)


def load_generator(path: str | Path) -> Generator:
    g = Generator(GeneratorConfig(**load_config(path)["config"]))
    return load_weights(g, path).eval().requires_grad_(False)


def class_prior(labels_path: str | Path) -> torch.Tensor:
    """Soft labels of the real training sounds (what c looks like in use)."""
    with np.load(labels_path, allow_pickle=False) as f:
        sel = (f["split"] == "train") & (f["label"] < 3)
        return torch.from_numpy(f["probs"][sel].astype(np.float32))


def render_batch(G: Generator, z: torch.Tensor, c: torch.Tensor, bf16: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(G's spectrum, its audio with the fades) for a batch: one forward serves E's input and the target."""
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        spec = G(z, c).float()
    return spec, S.render_audio(spec)


class RealSounds:
    """Real training sounds plus augmented copies (realdata.training_sounds), drawn with each
    class's ``share`` of the batch (equal shares = class-balanced).

    The copies (pitch, EQ, envelope, layering: data.augment) matter here: E fits ~350
    recordings within a few hundred steps (LSD 8.9 dB on them against 11.6 dB on an
    unseen kit after 800 steps without copies).
    """

    def __init__(self, data_path: str | Path, copies: int = 3, seed: int = 0, exclude_kits: tuple[str, ...] = (),
                 share: tuple[float, float, float] = (1.0, 1.0, 1.0)):
        audio, hard, _ = training_sounds(data_path, copies, seed, exclude_kits)
        self.audio = torch.from_numpy(audio)
        hard_t = torch.from_numpy(hard)
        self.weights = balanced_weights(hard_t) * torch.tensor(share, dtype=torch.float32)[hard_t]

    def sample(self, n: int, g: torch.Generator) -> torch.Tensor:
        return self.audio[torch.multinomial(self.weights, n, replacement=True, generator=g)]


def validation_sounds(data_path: str | Path, kit: str) -> np.ndarray:
    """The train split's kick/snare/cymbal sounds of one kit (float32 [n, N]); empty if absent."""
    from ..data.build import load_set

    d = load_set(data_path)
    return d["audio"][(d["split"] == "train") & (d["label"] < 3) & (d["kit"] == kit)].astype(np.float32)


@torch.no_grad()
def validation_lsd(E: Encoder, G: Generator, audio: np.ndarray, bf16: bool, batch: int = 32) -> float:
    """Mean fast-path LSD (dB) of G(E(x)) against x: the figure ``drumgan eval encoder`` reports."""
    from ..audio_distance import lsd_db

    was_training = E.training
    E.eval()
    est = []
    for i in range(0, len(audio), batch):
        z, c = E(E.features(torch.from_numpy(audio[i:i + batch])))
        est.append(render_batch(G, z, c, bf16)[1].numpy())
    E.train(was_training)
    return float(np.mean(lsd_db(audio, np.concatenate(est))))


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .. import paths  # default locations (liveinstrument/paths.py)
    p.add_argument("--generator", default=str(paths.models_dir() / "generator.safetensors"))
    p.add_argument("--labels", default=str(paths.training_data("soft_labels.npz")))
    p.add_argument("--run-dir", default=str(paths.runs_dir() / "encoder"))
    p.add_argument("--resume", action="store_true", help="continue from --run-dir's checkpoint")
    p.add_argument("--init", default=None, metavar="FILE",
                   help="start from these encoder weights (e.g. the shipped models/encoder.safetensors "
                        "when G was retrained: E's spectral features carry over, only the mapping moves)")
    p.add_argument("--real-weight", type=float, default=2.0, metavar="W",
                   help="beyond the paper: also fit E on real training sounds by analysis by synthesis "
                        "(weight of G(E(x)) vs x's spectral shape; default 2, as the shipped E; "
                        "0 = G's outputs only, the paper's recipe)")
    p.add_argument("--real-lsd-weight", type=float, default=EncoderTrainConfig.real_lsd_weight, metavar="W",
                   help="with --real-weight: also W x the log-spectral distance (dB) of G(E(x))'s rendered "
                        "audio to x, the figure 'drumgan eval encoder' reports (default %(default)s; 0 = off)")
    p.add_argument("--real-share", type=float, nargs=3, default=list(EncoderTrainConfig.real_share),
                   metavar=("K", "S", "C"),
                   help="relative share of kicks, snares and cymbals among the real sounds of a step "
                        "(default 1 1 2: cymbals, the hardest class, get half; 1 1 1 = class-balanced)")
    p.add_argument("--data", default=str(paths.training_data()), help="real sounds for --real-weight")
    p.add_argument("--val-kit", default=EncoderTrainConfig.val_kit, metavar="KIT",
                   help="training kit held out of the real-sound term; the moving average of E that "
                        "scores best on it ships (default: %(default)s; '' = none, the last one ships)")
    p.add_argument("--input-floor-db", type=float, default=-50.0, metavar="DB",
                   help="threshold of E's input, dB below the loudest bin (default %(default)s, as the shipped "
                        "E; -30 = the paper's reading). Deeper shows E more of a cymbal's decay, and more "
                        "of G's faint artefacts")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--ckpt-every", type=int, default=EncoderTrainConfig.ckpt_every, metavar="N",
                   help="steps between checkpoints (and validation scores); default %(default)s")
    p.add_argument("--hours", type=float, default=None, help="stop after this many hours")
    p.add_argument("--out", default=str(paths.models_out_dir() / "encoder.safetensors"))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-bf16", action="store_true")


def main(args) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if args.threads:
        torch.set_num_threads(args.threads)
    for path, hint in ((args.generator, "drumgan train gan"), (args.labels, "drumgan train classifier")):
        if not Path(path).exists():
            print(f"{path} not found: run '{hint}' first")
            return 2
    cfg = EncoderTrainConfig(steps=args.steps, real_weight=args.real_weight, val_kit=args.val_kit,
                             ckpt_every=args.ckpt_every, real_lsd_weight=args.real_lsd_weight,
                             real_share=tuple(args.real_share))
    if min(cfg.real_share) < 0 or sum(cfg.real_share) <= 0:
        print(f"--real-share needs three non-negative weights, not all zero; got {args.real_share}")
        return 2
    if not -120.0 <= args.input_floor_db < 0.0:
        print(f"--input-floor-db is dB below the loudest bin (e.g. -50), got {args.input_floor_db}")
        return 2
    real, val = None, None
    if cfg.real_weight > 0 or cfg.val_kit:
        if not Path(args.data).exists():
            print(f"{args.data} not found: run 'drumgan data build' first (or pass --real-weight 0 --val-kit '')")
            return 2
    if cfg.val_kit:
        val = validation_sounds(args.data, cfg.val_kit)
        if len(val) == 0:
            print(f"no training sounds of kit {cfg.val_kit!r} in {args.data}: name one of its kits "
                  f"(see {Path(args.data).with_suffix('.csv')}) or pass --val-kit ''")
            return 2
        print(f"validation: {len(val)} sounds of {cfg.val_kit} (held out of the real-sound term)")
    if cfg.real_weight > 0:
        real = RealSounds(args.data, cfg.real_copies, cfg.seed, exclude_kits=(cfg.val_kit,) if cfg.val_kit else (),
                          share=cfg.real_share)
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    G = load_generator(args.generator)
    bf16 = not args.no_bf16
    prior = class_prior(args.labels)
    hard = prior.argmax(1)
    weights = balanced_weights(hard)
    run = Path(args.run_dir)
    resuming = bool(args.resume and (run / "ckpt.safetensors").exists())
    st = json.loads((run / "state.json").read_text()) if resuming else {}
    # A resumed run keeps the input threshold its weights were trained on.
    E = Encoder(EncoderConfig(**st["encoder"]) if "encoder" in st else EncoderConfig(floor_db=args.input_floor_db))
    if args.init and not resuming:
        if not Path(args.init).exists():
            print(f"{args.init} not found: drop --init to train E from scratch")
            return 2
        load_weights(E, args.init)
        print(f"starting from {args.init}")
    opt = torch.optim.Adam(E.parameters(), lr=cfg.lr)
    step, wall, best = 0, 0.0, {"lsd": float("inf"), "step": None}
    if resuming:
        E.load_state_dict({k: v.float() for k, v in load_file(str(run / "ckpt.safetensors")).items()})
        step, wall = st["step"], st["wall_seconds"]
        if st.get("best_val") and st["best_val"].get("kit") == cfg.val_kit and st.get("generator") == file_hash(args.generator):
            best = {"lsd": st["best_val"]["lsd"], "step": st["best_val"]["step"]}
        g.manual_seed(cfg.seed * 1_000_003 + step)  # new latents, not a replay of the first run's
        print(f"resumed at step {step}")
    E_ema = copy.deepcopy(E).eval().requires_grad_(False)
    if resuming and (run / "ema.safetensors").exists():
        load_weights(E_ema, run / "ema.safetensors")
    ema_state, ema_beta = E_ema.state_dict(), 0.5 ** (1.0 / cfg.ema_steps)
    run.mkdir(parents=True, exist_ok=True)
    gen_hash = file_hash(args.generator)
    t_start = time.time()

    def save() -> float | None:
        """Checkpoint; export the moving average if it is the best on the validation kit so far
        (or always, without one). Returns the validation LSD, if scored."""
        save_file({k: v.contiguous() for k, v in E.state_dict().items()}, str(run / "ckpt.tmp.safetensors"))
        (run / "ckpt.tmp.safetensors").replace(run / "ckpt.safetensors")
        save_file({k: v.contiguous() for k, v in E_ema.state_dict().items()}, str(run / "ema.tmp.safetensors"))
        (run / "ema.tmp.safetensors").replace(run / "ema.safetensors")
        score = validation_lsd(E_ema, G, val, bf16) if val is not None else None
        if score is None or score < best["lsd"]:
            best.update(lsd=score if score is not None else float("inf"), step=step)
            training = {"steps": step, "wall_hours": round(wall / 3600, 3), "recipe": asdict(cfg)}
            if score is not None:
                training["val_lsd_db"] = round(score, 3)
            save_model(E_ema, args.out, E.cfg.to_dict(), extra={"generator_hash": gen_hash, "training": training})
        state = {"step": step, "wall_seconds": wall, "generator": gen_hash, "config": asdict(cfg),
                 "encoder": E.cfg.to_dict()}
        if val is not None:
            state["best_val"] = {"kit": cfg.val_kit, "lsd": best["lsd"], "step": best["step"]}
        (run / "state.json").write_text(json.dumps(state, indent=2))
        return score

    header = "step,latent,spectral,real,real_lsd,val_lsd,wall_s"
    log_path = run / "log.csv"
    set_aside_stale_log(log_path, header)
    if not log_path.exists():
        log_path.write_text(header + "\n")
    with open(log_path, "a") as log, Progress(TextColumn("[bold]E[/bold]"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} steps  loss {task.fields[loss]}"),
                  TimeElapsedColumn()) as prog:
        task = prog.add_task("enc", total=cfg.steps, completed=step, loss="-")
        E.train()
        while step < cfg.steps:
            if args.hours and time.time() - t_start > args.hours * 3600:
                break
            t0 = time.time()
            z = torch.randn(cfg.batch, G.cfg.latent_dim, generator=g)
            c = prior[torch.multinomial(weights, cfg.batch, replacement=True, generator=g)]
            spec, audio = render_batch(G, z, c, bf16)
            target = log_mag(spec)
            x = E.features(audio)
            xr = real.sample(cfg.real_batch, g) if real is not None else None
            if xr is not None:  # one pass: batch norm's running statistics then cover both kinds of input
                x = torch.cat([x, E.features(xr)])
            z_all, c_all = E(x)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                spec_all = G(z_all, c_all)
            n = cfg.batch
            z_hat, c_hat, spec_hat = z_all[:n], c_all[:n], spec_all[:n]
            latent = F.mse_loss(torch.cat([z_hat, c_hat], 1), torch.cat([z, c], 1))
            spectral = F.mse_loss(log_mag(spec_hat), target)
            loss = cfg.alpha * latent + cfg.beta * spectral
            on_real, real_lsd = torch.zeros(()), torch.zeros(())
            if xr is not None:
                on_real = (spectral_shape(spec_all[n:].float()) - spectral_shape(S.to_model_spec(xr))).pow(2).mean()
                loss = loss + cfg.real_weight * on_real
                if cfg.real_lsd_weight > 0:
                    real_lsd = heard_lsd(spec_all[n:], xr).mean()
                    loss = loss + cfg.real_lsd_weight * real_lsd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for k, v in E.state_dict().items():
                    if ema_state[k].is_floating_point():
                        ema_state[k].lerp_(v, 1.0 - ema_beta)
                    else:
                        ema_state[k].copy_(v)
            step += 1
            wall += time.time() - t0
            score = save() if step % cfg.ckpt_every == 0 else None
            if step % 10 == 0 or score is not None:
                val_txt = f"{score:.3f}" if score is not None else ""
                log.write(f"{step},{latent.item():.5f},{spectral.item():.5f},{on_real.item():.5f},{real_lsd.item():.3f},{val_txt},{wall:.1f}\n")
                log.flush()
                prog.update(task, completed=step, loss=f"{loss.item():.4f} (z,c {latent.item():.3f} spec {spectral.item():.4f}"
                                                              f" real {on_real.item():.4f})"
                                                              + (f"  val {best['lsd']:.2f} dB" if val is not None else ""))
    if step % cfg.ckpt_every:
        save()
    chosen = f", best on {cfg.val_kit} at step {best['step']}: LSD {best['lsd']:.2f} dB" if val is not None else ""
    print(f"encoder at step {step}: {args.out} (trained against generator {gen_hash}{chosen})")
    return 0
