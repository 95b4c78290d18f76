"""`drumgan generate`: write one-shots from the shipped generator."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CLASS_MIX = {"kick": (1.0, 0.0, 0.0), "snare": (0.0, 1.0, 0.0), "cymbal": (0.0, 0.0, 1.0)}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="write N generated drum one-shots as 44.1 kHz WAV",
                       description="Generate drum one-shots. The class is one of kick/snare/cymbal or a soft "
                                   "mix K S C (independent 0..1 values, normalised to sum 1 as the live "
                                   "sliders are). --variation A moves each sound along a random unit "
                                   "direction: z = z_center + A * e1 (paper Appendix A).")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--class", dest="cls", choices=sorted(CLASS_MIX), help="one-hot class")
    g.add_argument("--mix", nargs=3, type=float, metavar=("K", "S", "C"), help="soft class values in 0..1")
    p.add_argument("--count", type=int, default=4, help="number of sounds (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the z_center draws")
    p.add_argument("--variation", type=float, default=0.0, metavar="A", help="variation intensity alpha")
    p.add_argument("--direction-seed", type=int, default=0, metavar="D", help="seed of the direction e1")
    p.add_argument("--out", default="out/generated", help="output folder")
    p.add_argument("--models", default=None, help="models folder (default: the shipped models/)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from .audio_io import write_wav
    from .latent import random_direction, vary
    from .signal import sliders_to_classes
    from .paths import models_dir
    from .synth import DrumSynth

    if args.count < 1:
        print("drumgan generate: --count must be at least 1", file=sys.stderr)
        return 2
    mix = args.mix if args.mix else CLASS_MIX[args.cls or "kick"]
    c = sliders_to_classes(np.array(mix, np.float32))
    from .paths import missing
    problem = missing(models_dir(args.models) / "generator.safetensors", "drumgan train gan", "generator")
    if problem:
        print(f"drumgan generate: {problem} (or give --models DIR)", file=sys.stderr)
        return 2
    try:
        synth = DrumSynth.load(models_dir(args.models), with_encoder=False)
    except FileNotFoundError as exc:
        print(f"drumgan generate: {exc}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    z_center = rng.standard_normal((args.count, synth.latent_dim)).astype(np.float32)
    e1 = random_direction(np.random.default_rng(args.direction_seed))
    z = np.stack([vary(zc, args.variation, e1) for zc in z_center])
    audio = synth.generate(z, np.repeat(c[None], args.count, axis=0))
    out = Path(args.out)
    name = args.cls or "mix"
    for i, a in enumerate(audio):
        path = out / f"{name}_{args.seed}_{i:03d}.wav"
        write_wav(path, a)
        print(json.dumps({"path": str(path), "c": [round(float(v), 4) for v in c],
                          "seed": args.seed, "index": i, "variation": args.variation}))
    return 0
