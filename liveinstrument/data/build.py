"""Build a training set of one-shots: load, label, shape, de-duplicate, split, cache, manifest.

Output (``out_dir``):
- ``<name>.npz``: ``audio`` float32 [n, N_SAMPLES] (peak-normalised one-shots),
  ``label`` int [n] (0 kick, 1 snare, 2 cymbal, 3 other), ``split`` str [n],
  ``kit`` str [n], ``real`` bool [n].
- ``<name>.csv``: the manifest, one row per *candidate* (kept or not) with the
  reason any file was left out.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import signal as S
from ..audio_io import AudioFileError, load_audio, resample
from .sources import CLASSES, EXCLUDED_KITS, TEST_KITS, SourceItem

LABELS = (*CLASSES, "other")
SILENCE_PEAK = 10 ** (-70 / 20)  # -70 dBFS: a "sample" quieter than this is an empty file
NEAR_DUPLICATE_COS = 0.997       # log-mel cosine across kits: the same recording re-used
SAME_KIT_DUPLICATE_COS = 0.9995  # within a kit: velocity layers that are one recording at other gains
FINGERPRINT_FLOOR_DB = 70.0      # below the loudest mel cell: a file's own noise floor must not count

MANIFEST_COLUMNS = ("index", "path", "package", "kit", "instrument", "label", "class", "licence",
                    "original_rate", "duration_s", "split", "real", "status", "reason", "duplicate_of")


@dataclass
class BuildReport:
    kept: dict
    left_out: dict
    n_candidates: int

    def lines(self) -> list[str]:
        out = [f"{self.n_candidates} candidates"]
        out += [f"  kept {k}: {v}" for k, v in sorted(self.kept.items())]
        out += [f"  left out ({k}): {v}" for k, v in sorted(self.left_out.items())]
        return out


def split_of(kit: str) -> str:
    if kit in TEST_KITS:
        return "test"
    if kit in EXCLUDED_KITS:
        return "excluded"
    return "train"


def _fingerprint(audio: np.ndarray) -> np.ndarray:
    """Mean-removed, unit-norm log-mel: cosine near 1 means the same recording.

    Floored FINGERPRINT_FLOOR_DB below each sound's loudest mel cell: otherwise the
    16-bit quantisation floor (relatively louder in a quieter copy) decides the
    cosine of a gain-scaled copy and it passes as a different sound.
    """
    with torch.no_grad():
        m = S.log_mel(torch.from_numpy(audio)).flatten(1).numpy()
    m = np.maximum(m, m.max(axis=1, keepdims=True) - FINGERPRINT_FLOOR_DB / 50.0)  # log_mel is log10(P) / 5
    m = m - m.mean(axis=1, keepdims=True)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)


def load_item(item: SourceItem) -> tuple[np.ndarray, int, float]:
    """Raw audio of an item at 44.1 kHz mono: (audio, original rate, original duration s)."""
    if item.audio is not None:
        rate = item.rate or S.SAMPLE_RATE
        # as load_audio does for files: a non-finite sample must not turn a sound into NaNs
        x = resample(np.nan_to_num(item.audio, nan=0.0, posinf=0.0, neginf=0.0), rate)
        return x, rate, item.audio.shape[-1] / rate
    x, rate = load_audio(item.path)
    return x, rate, x.shape[-1] / S.SAMPLE_RATE


def build(items: list[SourceItem], out_dir: str | Path, name: str = "real",
          progress=None, classifier=None, min_confidence: float = 0.8) -> BuildReport:
    """Process ``items`` into ``out_dir/name.npz`` + ``name.csv``; never dies on one bad file.

    With ``classifier`` (a :class:`liveinstrument.classify.SoundClassifier`), sounds whose
    names carry no class are labelled by it when its top probability reaches
    ``min_confidence``; the manifest says so in ``reason``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    audio_list: list[np.ndarray] = []
    keep_rows: list[int] = []
    seen_hash: dict[str, int] = {}
    # Test and excluded kits go first so that a training file that duplicates them is the one dropped.
    order = sorted(range(len(items)), key=lambda i: (split_of(items[i].kit) == "train", i))
    for n, i in enumerate(order):
        it = items[i]
        row = {"path": it.path, "package": it.package, "kit": it.kit, "instrument": it.instrument,
               "label": it.label, "class": it.label if it.label in LABELS else "",
               "licence": it.licence, "original_rate": "", "duration_s": "",
               "split": split_of(it.kit), "real": 1, "status": "kept", "reason": "", "duplicate_of": "",
               "index": ""}
        rows.append(row)
        if progress:
            progress(n + 1, len(items))
        if it.label.startswith("broken"):
            row.update(status="left out", reason=f"unreadable kit description ({it.label[7:]})")
            continue
        if it.label == "not-one-shot":
            row.update(status="left out", reason="not a one-shot (roll, swirl, choke, loop or beat)")
            continue
        if it.label == "unlabelled" and classifier is None:
            row.update(status="left out", reason="no class in folder/file name (use --label-with-classifier)")
            continue
        try:
            raw, rate, dur = load_item(it)
        except AudioFileError as exc:
            reason = "missing file" if "no such file" in str(exc) else f"unreadable ({exc})"
            row.update(status="left out", reason=reason)
            continue
        row.update(original_rate=rate, duration_s=f"{dur:.3f}")
        if raw.size == 0 or float(np.max(np.abs(raw))) < SILENCE_PEAK:
            row.update(status="left out", reason="silent (peak below -70 dBFS)")
            continue
        shot = S.peak_normalize(S.fit_one_shot(raw))
        if it.label == "unlabelled":
            probs = classifier.probs(shot[None])[0]
            if probs.max() < min_confidence:
                row.update(status="left out", reason=f"no class in name and the classifier is unsure "
                                                     f"(top probability {probs.max():.2f})")
                continue
            row.update(label=CLASSES[int(probs.argmax())], reason=f"labelled by the classifier "
                                                                  f"(p={probs.max():.2f})")
            row["class"] = row["label"]
        digest = hashlib.sha1(np.round(shot * 2 ** 15).astype(np.int16).tobytes()).hexdigest()
        if digest in seen_hash:
            row.update(status="left out", reason="identical to another file",
                       duplicate_of=rows[seen_hash[digest]]["path"])
            continue
        seen_hash[digest] = len(rows) - 1
        audio_list.append(shot)
        keep_rows.append(len(rows) - 1)

    # Near-duplicates (same recording re-used across kits, at another gain or rate).
    audio = np.stack(audio_list) if audio_list else np.zeros((0, S.N_SAMPLES), np.float32)
    fps = np.concatenate([_fingerprint(audio[j:j + 64]) for j in range(0, len(audio), 64)]) \
        if len(audio) else np.zeros((0, 1))
    keep = np.ones(len(audio), dtype=bool)
    sims = fps @ fps.T if len(audio) else np.zeros((0, 0))
    for a in range(len(audio)):
        if not keep[a]:
            continue
        dup = np.flatnonzero((sims[a, a + 1:] > NEAR_DUPLICATE_COS) & keep[a + 1:]) + a + 1
        for b in dup:
            rb, ra = rows[keep_rows[b]], rows[keep_rows[a]]
            if rb["kit"] == ra["kit"] and sims[a, b] < SAME_KIT_DUPLICATE_COS:
                continue  # velocity layers of one drum are different takes; keep them
            keep[b] = False
            rb.update(status="left out", reason=f"near-duplicate of a {ra['split']} file (cos {sims[a, b]:.4f})",
                      duplicate_of=ra["path"])

    final_idx: list[int] = []
    for j, r in enumerate(keep_rows):
        row = rows[r]
        if not keep[j]:
            continue
        if row["split"] == "excluded":
            row.update(status="left out", reason="excluded kit (shares recordings with an external evaluation set)")
            continue
        if row["class"] == "other":
            row["split"] = "other"  # toms and percussion: kept apart, never trained on as a class
        row["index"] = len(final_idx)
        final_idx.append(j)

    sel = audio[final_idx] if final_idx else np.zeros((0, S.N_SAMPLES), np.float32)
    kept_rows = [rows[keep_rows[j]] for j in final_idx]
    np.savez(out / f"{name}.npz", audio=sel.astype(np.float32),
             label=np.array([LABELS.index(r["class"]) for r in kept_rows], dtype=np.int64),
             split=np.array([r["split"] for r in kept_rows]), kit=np.array([r["kit"] for r in kept_rows]),
             instrument=np.array([r["instrument"] for r in kept_rows]),
             path=np.array([r["path"] for r in kept_rows]),
             real=np.ones(len(kept_rows), dtype=bool))
    with open(out / f"{name}.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS)
        w.writeheader()
        for row in sorted(rows, key=lambda r: (r["status"] != "kept", r["kit"], r["path"])):
            w.writerow(row)

    kept: dict[str, int] = {}
    for r in kept_rows:
        kept[f"{r['split']}/{r['class']}"] = kept.get(f"{r['split']}/{r['class']}", 0) + 1
    left: dict[str, int] = {}
    for r in rows:
        if r["status"] != "kept":
            key = r["reason"].split(" (")[0]
            left[key] = left.get(key, 0) + 1
    return BuildReport(kept, left, len(rows))


def load_set(path: str | Path) -> dict[str, np.ndarray]:
    """Load a built set (``.npz``) as a dict of arrays (no pickle)."""
    with np.load(Path(path), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
