"""Evaluate E's encode -> decode round trip (paper Table 2 layout).

Sets: *gen* (G's own outputs, re-encoded), *train* (the real training kits) and
*test* (the unseen BJA_Pacific kit), plus *other* (toms and percussion, out of
the class distribution, like the paper's test set). Metrics per pair
(reference x, resynthesis G(E(x))): MSE, LSD (DESIGN.md §2), SNR, and ViSQOL
MOS (audio mode, 48 kHz), the stand-in for PEAQ's ODG/DI, which has no
maintained Python implementation. Reconstructions are peak-normalised like the
references before MSE/SNR, since G's output level is arbitrary.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..data.build import load_set
from ..signal import CLASSES
from ..synth import DEFAULT_MODELS, DrumSynth
from . import metrics as M


def roundtrip(synth: DrumSynth, audio: np.ndarray, refine_steps: int, batch: int = 16) -> tuple[np.ndarray, float]:
    """(resyntheses [n, N], ms per sound)."""
    outs = []
    t0 = time.perf_counter()
    for i in range(0, len(audio), batch):
        z, c = synth.encode(audio[i:i + batch], refine_steps=refine_steps)
        outs.append(synth.generate(z, c))
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(audio))
    return np.concatenate(outs), ms


def score(ref: np.ndarray, est: np.ndarray, classes: np.ndarray | None = None, visqol_items: int = 20) -> dict:
    """Table 2's figures for one set; with ``classes`` (index into CLASSES per item) also
    ``LSD_<class>``, None for a class the set lacks: a kit's mix of classes weighs heavily on
    its mean LSD (noise-like cymbals score worst)."""
    ref = ref / np.maximum(np.abs(ref).max(axis=1, keepdims=True), 1e-9)
    est = est / np.maximum(np.abs(est).max(axis=1, keepdims=True), 1e-9)
    mos = [M.visqol_mos(r, e) for r, e in zip(ref[:visqol_items], est[:visqol_items])]
    mos = [m for m in mos if m is not None]
    snr = M.snr_db(ref, est)
    lsd = np.atleast_1d(M.lsd_db(ref, est))
    out = {"MSE": float(np.mean(M.mse(ref, est))), "LSD": float(np.mean(lsd)),
           "SNR": float(np.mean(snr[np.isfinite(snr)])) if np.isfinite(snr).any() else float("nan"),
           "ViSQOL": float(np.mean(mos)) if mos else None, "n": int(len(ref))}
    if classes is not None:
        for k, cls in enumerate(CLASSES):
            sel = classes == k
            out[f"LSD_{cls}"] = float(lsd[sel].mean()) if sel.any() else None
    return out


def evaluate_encoder(models_dir: str | Path = DEFAULT_MODELS, data_path: str | Path = "data/real.npz",
                     n_per_set: int = 100, refine_steps: int = 0, seed: int = 0, log=print) -> list[dict]:
    synth = DrumSynth.load(models_dir)
    if synth.encoder is None:
        raise FileNotFoundError("models/encoder.safetensors missing: run 'drumgan train encoder'")
    rng = np.random.default_rng(seed)
    d = load_set(data_path)
    sets: dict[str, np.ndarray] = {}
    classes: dict[str, np.ndarray] = {}
    z = rng.standard_normal((n_per_set, synth.latent_dim)).astype(np.float32)
    c = rng.dirichlet((0.3, 0.3, 0.3), n_per_set).astype(np.float32)
    sets["gen"] = synth.generate(z, c)
    classes["gen"] = c.argmax(1)
    test_mask = (d["split"] == "test") & (d["label"] < 3)
    test_name = f"test ({', '.join(sorted(set(d['kit'][test_mask].tolist())))})"
    for name, mask in (("train", (d["split"] == "train") & (d["label"] < 3)),
                       (test_name, test_mask),
                       ("other (toms, percussion)", d["split"] == "other")):
        idx = np.flatnonzero(mask)
        if len(idx) > n_per_set:
            idx = rng.choice(idx, n_per_set, replace=False)
        sets[name] = d["audio"][idx]
        classes[name] = d["label"][idx]
    rows = []
    for name, ref in sets.items():
        est, ms = roundtrip(synth, ref, refine_steps)
        row = {"set": name, **score(ref, est, classes[name]), "ms_per_sound": ms, "refine_steps": refine_steps}
        rows.append(row)
        per_class = "  ".join(f"{cls} {row[f'LSD_{cls}']:.2f}" for cls in CLASSES if row[f"LSD_{cls}"] is not None)
        log(f"{name:28s} LSD {row['LSD']:.2f} dB ({per_class or 'no kick/snare/cymbal'})  SNR {row['SNR']:.2f} dB  "
            f"MSE {row['MSE']:.4f}  ViSQOL {row['ViSQOL'] if row['ViSQOL'] is None else round(row['ViSQOL'], 2)}  "
            f"{ms:.0f} ms/sound")
    return rows
