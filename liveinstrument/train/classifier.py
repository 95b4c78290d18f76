"""Train the kick/snare/cymbal classifier with leave-one-kit-out cross-fitting.

One run does three things:
1. leave-one-kit-out (LOKO): for each training kit group, train on the others and
   predict the held-out kit. These figures select the recipe, and the held-out
   predictions are the *soft labels* of the training sounds (cross-fitted: a
   model never labels sounds it was trained on, so labels do not collapse to
   one-hot).
2. the final model on all training kits, saved as safetensors + JSON.
3. the unseen test kit (BJA_Pacific) evaluated once, at the end.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import signal as S
from ..modelio import save_model
from ..nets.classifier import Classifier, ClassifierConfig


@dataclass
class ClassifierTrainConfig:
    epochs: int = 30
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-3
    seed: int = 0
    n_mels: int = 128
    width: int = 32
    label_smoothing: float = 0.05
    synth_weight: float = 0.0   # fraction of each batch drawn from the procedural set (0 = real only)


def kit_group(kit: str) -> str:
    """A soundfont's kits share samples: each soundfont is one kit for held-out validation.
    MuseScore General is built from FluidR3 Mono, so it joins FluidR3's group."""
    if kit.startswith(("FluidR3", "MuseScoreGeneral")):
        return "FluidR3"
    if kit.startswith("TimGM6mb"):
        return "TimGM6mb"
    return kit


def fold_groups(groups: np.ndarray, folds: int) -> np.ndarray:
    """Merge kit groups into ``folds`` folds of similar size (largest group first into the
    smallest fold): K fits instead of one per kit, still never labelling a kit a model saw."""
    names, counts = np.unique(groups, return_counts=True)
    sizes = [0] * folds
    fold_of = {}
    for i in np.argsort(-counts, kind="stable"):
        k = int(np.argmin(sizes))
        fold_of[names[i]] = f"fold{k}"
        sizes[k] += int(counts[i])
    return np.array([fold_of[g] for g in groups])


def mel_features(audio: np.ndarray, n_mels: int = S.N_MELS, batch: int = 128) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([S.log_mel(torch.from_numpy(audio[i:i + batch]), n_mels)
                          for i in range(0, len(audio), batch)])


def augment_mel(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Cheap spectrogram-domain augmentation: mel shift (~pitch), spectral tilt (~EQ),
    a small time shift (onset jitter), a noise floor, and one frequency/time mask."""
    b, _, m, t = x.shape
    out = x.clone()
    for i in range(b):
        shift = int(torch.randint(-3, 4, (1,), generator=g))
        if shift:
            out[i] = torch.roll(out[i], shift, dims=1)
            if shift > 0:
                out[i, :, :shift] = out[i, :, shift:shift + 1]
            else:
                out[i, :, shift:] = out[i, :, shift - 1:shift]
        tshift = int(torch.randint(0, 2, (1,), generator=g))
        if tshift:
            out[i] = torch.cat([out[i, :, :, :1].expand(-1, -1, tshift) * 0 + out[i].min(), out[i, :, :, :-tshift]], dim=2)
        f = int(torch.randint(0, m // 10, (1,), generator=g))
        f0 = int(torch.randint(0, m - f + 1, (1,), generator=g))
        out[i, :, f0:f0 + f] = out[i].min()
        w = int(torch.randint(0, t // 8, (1,), generator=g))
        w0 = int(torch.randint(1, t - w + 1, (1,), generator=g))
        out[i, :, :, w0:w0 + w] = out[i].min()
    tilt = (torch.rand(b, 1, 1, 1, generator=g) - 0.5) * 0.4  # +-0.2 -> about +-20 dB across the band
    out = out + tilt * torch.linspace(-1, 1, m).view(1, 1, m, 1)
    floor = -2.0 + torch.rand(b, 1, 1, 1, generator=g) * 1.2  # noise floor between -100 and -40 dB
    return torch.maximum(out, floor)


def train_one(x: torch.Tensor, y: torch.Tensor, cfg: ClassifierTrainConfig,
              soft: torch.Tensor | None = None, progress=None) -> Classifier:
    """Train a fresh classifier on features ``x`` [n, 1, M, T] with labels ``y`` [n]."""
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    model = Classifier(ClassifierConfig(n_mels=cfg.n_mels, width=cfg.width))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    counts = torch.bincount(y, minlength=3).float().clamp_min(1)
    weights = (1.0 / counts)[y]  # class-balanced sampling
    steps_per_epoch = max(1, math.ceil(len(y) / cfg.batch))
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    model.train()
    for step in range(total):
        idx = torch.multinomial(weights, cfg.batch, replacement=True, generator=g)
        xb = augment_mel(x[idx], g)
        # Mixup between two sounds of the batch gives honest soft targets for blends.
        lam = torch.distributions.Beta(0.4, 0.4).sample((cfg.batch,)).clamp(0, 1) if step % 2 else torch.ones(cfg.batch)
        perm = torch.randperm(cfg.batch, generator=g)
        lam_x = lam.view(-1, 1, 1, 1)
        xm = torch.log10(lam_x * 10 ** (xb * 5) + (1 - lam_x) * 10 ** (xb[perm] * 5) + 1e-10) / 5
        tgt = F.one_hot(y[idx], 3).float()
        tgt = tgt * (1 - cfg.label_smoothing) + cfg.label_smoothing / 3
        tgt = lam.view(-1, 1) * tgt + (1 - lam.view(-1, 1)) * tgt[perm]
        loss = -(tgt * F.log_softmax(model(xm), dim=1)).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if progress:
            progress(step + 1, total, loss.item())
    return model.eval()


@torch.no_grad()
def predict(model: Classifier, x: torch.Tensor, batch: int = 256) -> np.ndarray:
    model.eval()
    return torch.cat([F.softmax(model(x[i:i + batch]), 1) for i in range(0, len(x), batch)]).numpy()


def confusion(y: np.ndarray, pred: np.ndarray, k: int = 3) -> np.ndarray:
    m = np.zeros((k, k), dtype=int)
    for a, b in zip(y, pred):
        m[a, b] += 1
    return m


def wilson_ci(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for an accuracy (honest with small n)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = correct / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (c - h, c + h)


def summarize(y: np.ndarray, probs: np.ndarray) -> dict:
    pred = probs.argmax(1)
    out = {"n": int(len(y)), "accuracy": float((pred == y).mean()) if len(y) else float("nan"),
           "accuracy_ci95": wilson_ci(int((pred == y).sum()), len(y)),
           "confusion": confusion(y, pred).tolist(), "per_class": {}}
    for k, name in enumerate(S.CLASSES):
        sel = y == k
        c = int((pred[sel] == k).sum())
        out["per_class"][name] = {"n": int(sel.sum()), "accuracy": c / max(1, int(sel.sum())),
                                  "ci95": wilson_ci(c, int(sel.sum()))}
    return out


def run(data_path: str | Path, out_path: str | Path, cfg: ClassifierTrainConfig,
        labels_out: str | Path | None = None, loko: bool = True, synth_path: str | Path | None = None,
        log=print, folds: int = 0) -> dict:
    """Full recipe: LOKO cross-fit (optional; ``folds`` > 0 merges kits into that many folds),
    final model, test-kit evaluation. Returns a report."""
    from ..data.build import load_set

    d = load_set(data_path)
    is_cls = d["label"] < 3
    train = np.flatnonzero((d["split"] == "train") & is_cls)
    test = np.flatnonzero((d["split"] == "test") & is_cls)
    x_all = mel_features(d["audio"], cfg.n_mels)
    y_all = torch.from_numpy(d["label"]).long()
    groups = np.array([kit_group(k) for k in d["kit"]])
    if folds > 0:
        groups[train] = fold_groups(groups[train], folds)
    extra_x = extra_y = None
    if synth_path:
        s = load_set(synth_path)
        extra_x, extra_y = mel_features(s["audio"], cfg.n_mels), torch.from_numpy(s["label"]).long()

    def fit(idx: np.ndarray, seed_offset: int = 0) -> Classifier:
        x, y = x_all[idx], y_all[idx]
        if extra_x is not None:
            x, y = torch.cat([x, extra_x]), torch.cat([y, extra_y])
        c = ClassifierTrainConfig(**{**cfg.__dict__, "seed": cfg.seed + seed_offset})
        return train_one(x, y, c)

    report: dict = {"config": cfg.__dict__, "data": str(data_path)}
    t0 = time.time()
    oof = np.full((len(d["label"]), 3), np.nan, dtype=np.float32)
    if loko:
        kits = sorted(set(groups[train]))
        per_kit = {}
        for i, kit in enumerate(kits):
            held = train[groups[train] == kit]
            model = fit(train[groups[train] != kit], i + 1)
            oof[held] = predict(model, x_all[held])
            acc = float((oof[held].argmax(1) == d["label"][held]).mean())
            per_kit[kit] = {"n": int(len(held)), "accuracy": acc}
            log(f"LOKO {i + 1}/{len(kits)} {kit:28s} n={len(held):3d} acc={acc:.3f}  ({time.time() - t0:.0f}s)")
        report["loko"] = {"per_kit": per_kit, **summarize(d["label"][train], oof[train])}
        log(f"LOKO overall accuracy {report['loko']['accuracy']:.3f} CI95 {report['loko']['accuracy_ci95']}")
    model = fit(train)
    report["train_seconds"] = time.time() - t0
    save_model(model, out_path, model.cfg.to_dict(), extra={"recipe": cfg.__dict__,
                                                            "classes": list(S.CLASSES)})
    # Score the test kit with the saved (fp16-rounded) weights, as shipped.
    from ..modelio import load_weights
    shipped = load_weights(Classifier(model.cfg), out_path)
    test_probs = predict(shipped, x_all[test])
    report["test"] = summarize(d["label"][test], test_probs)
    report["test"]["kits"] = sorted(set(d["kit"][test]))
    log(f"test ({', '.join(report['test']['kits'])}) accuracy {report['test']['accuracy']:.3f}")
    if labels_out:
        # Soft labels for every sound of the set: cross-fitted where LOKO ran, else the final model.
        probs = predict(shipped, x_all)
        if loko:
            probs[train] = oof[train]
        np.savez(labels_out, probs=probs.astype(np.float32), label=d["label"], split=d["split"],
                 kit=d["kit"], crossfit=np.isin(np.arange(len(probs)), train) & loko)
    Path(out_path).with_suffix(".report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
