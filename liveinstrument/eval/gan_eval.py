"""Evaluate G (paper Table 1 plus the conditioning checks of issue #3).

All figures use the *evaluation* classifier (models/eval_classifier.safetensors):
trained with another seed, another mel resolution and extra procedural data, so
it is not the model whose probabilities G was trained on.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import signal as S
from ..classify import MODELS, SoundClassifier
from ..data.build import load_set
from ..synth import DrumSynth
from . import metrics as M


def class_balanced(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices with ``per_class`` items of each class (with replacement only where a class is short)."""
    idx = []
    for k in range(3):
        pool = np.flatnonzero(labels == k)
        if len(pool) == 0:
            continue  # a set without this class: balance the classes it has
        idx.append(rng.choice(pool, per_class, replace=len(pool) < per_class))
    return np.concatenate(idx)


def generate_onehot(synth: DrumSynth, per_class: int, seed: int, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((3 * per_class, synth.latent_dim)).astype(np.float32)
    c = np.repeat(np.eye(3, dtype=np.float32), per_class, axis=0)
    audio = np.concatenate([synth.generate(z[i:i + batch], c[i:i + batch]) for i in range(0, len(z), batch)])
    return audio, np.repeat(np.arange(3), per_class)


def kick_to_snare_path(synth: DrumSynth, judge: SoundClassifier, z_seed: int, n: int = 50,
                       steps: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """(t [steps], the judge's class probabilities [steps, 3] averaged over ``n`` latents drawn
    with ``z_seed``) along c = (1 - t, t, 0)."""
    ts = np.linspace(0, 1, steps, dtype=np.float32)
    z = np.random.default_rng(z_seed).standard_normal((n, synth.latent_dim)).astype(np.float32)
    path = []
    for t in ts:
        pr = judge.probs(synth.generate(z, np.tile(np.array([1 - t, t, 0], np.float32), (n, 1))))
        path.append([pr[:, k].mean() for k in range(pr.shape[1])])  # per column: the figures as first published
    return ts, np.array(path)


def rises(values: np.ndarray) -> bool:
    """Monotonically non-decreasing (to float noise)."""
    return bool(np.all(np.diff(values) >= -1e-6))


def evaluate_gan(models_dir: str | Path = MODELS, data_path: str | Path = "data/real.npz",
                 per_class: int = 300, seed: int = 0, log=print) -> dict:
    synth = DrumSynth.load(models_dir, with_encoder=False)
    judge = SoundClassifier(Path(models_dir) / "eval_classifier.safetensors")
    rng = np.random.default_rng(seed)
    gen, gen_y = generate_onehot(synth, per_class, seed)
    probs = judge.probs(gen)
    out: dict = {"generator_hash": synth.model_hash, "per_class": per_class}

    # Conditioning: one-hot c -> the judge agrees.
    pred = probs.argmax(1)
    out["conditioning"] = {S.CLASSES[k]: float((pred[gen_y == k] == k).mean()) for k in range(3)}
    log("conditioning accuracy (eval classifier): " +
        ", ".join(f"{k} {v:.3f}" for k, v in out["conditioning"].items()))

    # Kick -> snare path: the judge's snare probability along c, averaged over 50 z.
    ts, path = kick_to_snare_path(synth, judge, seed + 1)
    snare = [float(p) for p in path[:, 1]]
    out["kick_to_snare"] = {"t": ts.tolist(), "snare_prob": snare, "monotonic": rises(path[:, 1])}
    log("kick->snare snare prob: " + " ".join(f"{s:.2f}" for s in snare) +
        f"  monotonic={out['kick_to_snare']['monotonic']}")

    # Distribution metrics on class-balanced sets.
    d = load_set(data_path)
    cls = d["label"] < 3
    train = np.flatnonzero((d["split"] == "train") & cls)
    test = np.flatnonzero((d["split"] == "test") & cls)
    n_bal = min(per_class, 100)
    tr_idx = train[class_balanced(d["label"][train], n_bal, rng)]
    te_idx = test[class_balanced(d["label"][test], n_bal, rng)]
    g_idx = class_balanced(gen_y, n_bal, rng)
    f_tr, f_te, f_g = (judge.embed(d["audio"][tr_idx]), judge.embed(d["audio"][te_idx]), judge.embed(gen[g_idx]))
    p_tr, p_te = judge.probs(d["audio"][tr_idx]), judge.probs(d["audio"][te_idx])
    is_real_tr, is_real_te, is_gen = M.inception_score(p_tr)[0], M.inception_score(p_te)[0], M.inception_score(probs[g_idx])[0]
    out["table1"] = [
        {"set": "real test kit (IS only)", "IS": is_real_te, "KID": None, "FD": None},
        {"set": "real train kits vs real test kit", "IS": is_real_tr,
         "KID": M.kid(f_tr, f_te)[0], "FD": M.frechet_distance(f_tr, f_te)},
        {"set": "DrumGAN Live vs real test kit", "IS": is_gen,
         "KID": M.kid(f_g, f_te)[0], "FD": M.frechet_distance(f_g, f_te)},
        {"set": "DrumGAN Live vs real train kits", "IS": is_gen,
         "KID": M.kid(f_g, f_tr)[0], "FD": M.frechet_distance(f_g, f_tr)},
    ]
    out["is_ratio_vs_real"] = is_gen / is_real_tr
    # No copying: distance from each generation to its nearest training sound vs real-vs-real.
    f_train_all = judge.embed(d["audio"][train])
    nn_gen = M.nearest_neighbour_distances(judge.embed(gen), f_train_all)
    nn_real = M.nearest_neighbour_baseline(f_train_all)
    out["copying"] = {"gen_to_train_nn_median": float(np.median(nn_gen)),
                      "gen_to_train_nn_p5": float(np.percentile(nn_gen, 5)),
                      "train_to_train_nn_median": float(np.median(nn_real)),
                      "train_to_train_nn_p5": float(np.percentile(nn_real, 5))}
    # Artefacts a classifier may not weigh: isolated clicks and the crest factor they raise.
    out["artefacts"] = {}
    for k, name in enumerate(S.CLASSES):
        real_k = d["audio"][train[d["label"][train] == k]]
        out["artefacts"][name] = {
            "clicks_per_sound_gen": float(M.click_count(gen[gen_y == k]).mean()),
            "clicks_per_sound_real": float(M.click_count(real_k).mean()),
            "crest_db_gen_median": float(np.median(M.crest_factor_db(gen[gen_y == k]))),
            "crest_db_real_median": float(np.median(M.crest_factor_db(real_k)))}
    # Spectral balance (issue #14): octave bands early / late, sub-100 Hz share, low-band
    # graininess and kick-tone share, generated vs the real training sounds, per class.
    out["spectral_balance"] = spectral_balance_by_class(gen, gen_y, d["audio"][train], d["label"][train])
    out["gen_audio"], out["gen_labels"] = gen, gen_y
    return out


def spectral_balance_by_class(gen: np.ndarray, gen_y: np.ndarray, real: np.ndarray,
                              real_y: np.ndarray) -> dict:
    """``metrics.compare_spectral_balance`` per class name, plus the band labels and edges."""
    g_all, r_all = M.spectral_balance(gen), M.spectral_balance(real)
    res: dict = {"bands": list(S.OCTAVE_LABELS), "edges_hz": list(S.OCTAVE_EDGES_HZ)}
    for k, name in enumerate(S.CLASSES):
        pick = lambda m, y: {key: v[y == k] for key, v in m.items()}  # noqa: E731
        if np.any(gen_y == k) and np.any(real_y == k):
            res[name] = M.compare_spectral_balance(pick(g_all, gen_y), pick(r_all, real_y))
    return res


def write_report(result: dict, synth: DrumSynth, out_dir: str | Path, per_class: int = 6, seed: int = 0) -> Path:
    """HTML listening page: generations per class and a kick -> snare -> cymbal interpolation row."""
    from ..audio_io import write_wav
    from .report import listening_page, spectrogram_png

    out = Path(out_dir)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    sections = []
    gen, y = result["gen_audio"], result["gen_labels"]
    for k, name in enumerate(S.CLASSES):
        items = []
        for j, i in enumerate(np.flatnonzero(y == k)[:per_class]):
            stem = f"audio/{name}_{j}"
            write_wav(out / f"{stem}.wav", gen[i] * 0.9)
            spectrogram_png(gen[i][None], out / f"{stem}.png", cols=1)
            items.append((f"{name} #{j}", f"{stem}.wav", f"{stem}.png"))
        sections.append((f"{name} (one-hot c)", items))
    z = np.random.default_rng(seed + 7).standard_normal((1, synth.latent_dim)).astype(np.float32)
    path = [np.array(p, np.float32) for p in
            ([1, 0, 0], [0.75, 0.25, 0], [0.5, 0.5, 0], [0.25, 0.75, 0], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1])]
    audio = synth.generate(np.repeat(z, len(path), 0), np.stack(path))
    items = []
    for j, (a, c) in enumerate(zip(audio, path)):
        stem = f"audio/interp_{j}"
        write_wav(out / f"{stem}.wav", a * 0.9)
        spectrogram_png(a[None], out / f"{stem}.png", cols=1)
        items.append((f"c = ({c[0]:.2f}, {c[1]:.2f}, {c[2]:.2f})", f"{stem}.wav", f"{stem}.png"))
    sections.append(("interpolation kick -> snare -> cymbal (same z)", items))
    extra = []
    if "spectral_balance" in result:
        from .report import band_profile_svg
        extra.append(("Band profiles: generated vs real training sounds (octave bands, mean dB over sounds)",
                      band_profile_svg(result["spectral_balance"])))
    listening_page(sections, out / "index.html",
                   intro=f"Generator {result['generator_hash']}. Spectrograms: log frequency, dB to peak.",
                   figures=extra)
    return out / "index.html"
