"""How far does the variation control move the sound? Prints spectral distance and class
stability against alpha, to choose ALPHA_MAX (engine/state.py) for the shipped generator.

    python benchmarks/calibrate_variation.py [--models models] [--n 32]

For each alpha: median LSD (dB, DESIGN.md §2) between G(z, c) and G(z + alpha e1, c) over n
random (z, e1, one-hot c), and the fraction of varied sounds the evaluation classifier
still puts in the asked class (the variation should be audible yet stay in G's domain).
"""
from __future__ import annotations

import argparse

import numpy as np

from liveinstrument.classify import SoundClassifier
from liveinstrument.eval.metrics import lsd_db
from liveinstrument.latent import random_direction
from liveinstrument.synth import DrumSynth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.5, 1, 2, 3, 4, 6, 8, 11])
    args = ap.parse_args()
    synth = DrumSynth.load(args.models, with_encoder=False)
    judge = SoundClassifier(f"{args.models}/eval_classifier.safetensors")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((args.n, synth.latent_dim)).astype(np.float32)
    e1 = np.stack([random_direction(rng) for _ in range(args.n)])
    c = np.eye(3, dtype=np.float32)[np.arange(args.n) % 3]
    base = synth.generate(z, c)
    base_cls = judge.probs(base).argmax(1)
    print(f"generator {synth.model_hash}; |z| median {np.median(np.linalg.norm(z, axis=1)):.2f}")
    print(f"{'alpha':>6} {'LSD median dB':>14} {'LSD p90':>8} {'same class':>10}")
    for a in args.alphas:
        var = synth.generate(z + a * e1, c)
        lsd = lsd_db(base, var)
        same = float((judge.probs(var).argmax(1) == base_cls).mean())
        print(f"{a:6.2f} {np.median(lsd):14.2f} {np.percentile(lsd, 90):8.2f} {same:10.2f}")


if __name__ == "__main__":
    main()
