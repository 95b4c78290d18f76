"""Is the kick -> snare path's shape sampling noise? Re-runs `drumgan eval gan`'s path check
(the evaluation classifier's mean snare probability along c = (1 - t, t, 0) over 50 z,
``gan_eval.kick_to_snare_path``) for several latent seeds and prints the last four steps of each.

    python benchmarks/kick_to_snare_seeds.py [--models models] [--seeds 1 2 3 4] [--n 50]
"""
from __future__ import annotations

import argparse

from liveinstrument.classify import SoundClassifier
from liveinstrument.eval.gan_eval import kick_to_snare_path, rises
from liveinstrument.synth import DrumSynth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--n", type=int, default=50)
    args = ap.parse_args()
    synth = DrumSynth.load(args.models, with_encoder=False)
    judge = SoundClassifier(f"{args.models}/eval_classifier.safetensors")
    r3 = lambda a: [round(float(x), 3) for x in a]  # noqa: E731
    print(f"generator {synth.model_hash}; last four steps t = 0.7, 0.8, 0.9, 1.0 "
          f"(seed 1 is the set 'drumgan eval gan' uses)")
    for seed in args.seeds:
        _, p = kick_to_snare_path(synth, judge, seed, n=args.n)
        print(f"seed {seed}: snare {r3(p[-4:, 1])}  cymbal {r3(p[-4:, 2])}  monotonic={rises(p[:, 1])}")

if __name__ == "__main__":
    main()
