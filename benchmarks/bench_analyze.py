"""Analysis speed: ms per sound for E (encode) + G (resynthesis), with and without refinement.

    python benchmarks/bench_analyze.py [--models models] [--refine 0 20 50] [--threads N]

Uses sounds from data/real.npz when present (else procedural ones). Median and p90 over
the inputs, on CPU (and on CUDA when present). Pause training while you measure.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from liveinstrument.synth import DrumSynth


def inputs(n: int) -> np.ndarray:
    p = Path("data/real.npz")
    if p.exists():
        with np.load(p, allow_pickle=False) as f:
            sel = np.flatnonzero(f["label"] < 3)[:n]
            return f["audio"][sel]
    from liveinstrument.data.procedural import synth_set
    return synth_set(max(1, n // 3), 0)[0][:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models")
    ap.add_argument("--refine", type=int, nargs="+", default=[0, 20, 50])
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    audio = inputs(args.n)
    for dev in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        synth = DrumSynth.load(args.models, device=dev)
        if synth.encoder is None:
            raise SystemExit("models/encoder.safetensors missing: run 'drumgan train encoder'")
        synth.generate(*synth.encode(audio[:1]))  # warm-up
        for steps in args.refine:
            times = []
            for a in audio:
                t = time.perf_counter()
                z, c = synth.encode(a[None], refine_steps=steps)
                synth.generate(z, c)
                if dev == "cuda":
                    torch.cuda.synchronize()
                times.append((time.perf_counter() - t) * 1000)
            print(f"{dev:4s} threads={torch.get_num_threads()} refine={steps:3d}: "
                  f"{np.median(times):8.1f} ms per analysis median, {np.percentile(times, 90):8.1f} p90")


if __name__ == "__main__":
    main()
