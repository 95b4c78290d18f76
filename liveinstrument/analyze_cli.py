"""`drumgan analyze FILE... --out DIR`: encode sounds into (z, c) and resynthesize them."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="encode sounds to (z, c) with E and resynthesize them with G",
                       description="For each input writes DIR/<name>.wav (the resynthesis G(E(x))) and "
                                   "DIR/<name>.json with z (128 floats) and c (kick, snare, cymbal). Any "
                                   "sample rate, channel count and length: the onset is found and the "
                                   "window fitted. A bad file is reported in one line and the rest run.")
    p.add_argument("paths", nargs="+", metavar="FILE")
    p.add_argument("--out", default="out/analyzed", help="output folder")
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="analysis-by-synthesis gradient steps after E (slower, closer; default 0)")
    p.add_argument("--variations", type=int, default=0, metavar="N",
                   help="also write N variations around the encoded z")
    p.add_argument("--variation", type=float, default=1.0, metavar="A", help="variation intensity alpha")
    p.add_argument("--direction-seed", type=int, default=0, metavar="D")
    p.add_argument("--models", default=None, help="models folder (default: the shipped models/)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from .audio_io import iter_one_shots, write_wav
    from .latent import random_direction, vary
    from .paths import models_dir
    from .synth import DrumSynth

    from .paths import missing
    d = models_dir(args.models)
    problem = (missing(d / "generator.safetensors", "drumgan train gan", "generator")
               or missing(d / "encoder.safetensors", "drumgan train encoder", "encoder"))
    if problem:
        print(f"drumgan analyze: {problem} (or give --models DIR)", file=sys.stderr)
        return 2
    try:
        synth = DrumSynth.load(models_dir(args.models))
        if synth.encoder is None:
            raise FileNotFoundError("models/encoder.safetensors missing: run 'drumgan train encoder'")
    except FileNotFoundError as exc:
        print(f"drumgan analyze: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shots = iter_one_shots(args.paths, "drumgan analyze")
    for path, shot in shots:
        t0 = time.perf_counter()
        z, c = synth.encode(shot[None], refine_steps=args.refine)
        audio = synth.generate(z, c)[0]
        ms = (time.perf_counter() - t0) * 1000
        stem = Path(path).stem
        write_wav(out / f"{stem}.wav", audio)
        info = {"path": str(path), "z": [round(float(v), 5) for v in z[0]],
                "c": {"kick": round(float(c[0, 0]), 4), "snare": round(float(c[0, 1]), 4),
                      "cymbal": round(float(c[0, 2]), 4)},
                "refine_steps": args.refine, "ms": round(ms, 1)}
        if args.variations > 0:
            rng = np.random.default_rng(args.direction_seed)
            zs = np.stack([vary(z[0], args.variation, random_direction(rng)) for _ in range(args.variations)])
            for i, a in enumerate(synth.generate(zs, np.repeat(c, args.variations, axis=0))):
                write_wav(out / f"{stem}_var{i + 1:02d}.wav", a)
            info["variations"] = args.variations
        (out / f"{stem}.json").write_text(json.dumps(info) + "\n")
        print(f"{path} -> {out / (stem + '.wav')}  c=({info['c']['kick']:.2f}, {info['c']['snare']:.2f}, "
              f"{info['c']['cymbal']:.2f})  {ms:.0f} ms")
    return 1 if shots.failed else 0
