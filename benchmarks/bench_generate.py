"""Generator speed: ms per sound at batch 1, 8 and 64 (generate = G + inverse STFT + fades).

    python benchmarks/bench_generate.py [--models models] [--threads N] [--repeats 15]

Prints the median and p90 over repeats, per sound, on CPU (and on CUDA when present).
Pause training while you measure: the machine's cores are shared.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from liveinstrument.synth import DrumSynth


def bench(synth: DrumSynth, batch: int, repeats: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((batch, synth.latent_dim)).astype(np.float32)
    c = np.eye(3, dtype=np.float32)[np.arange(batch) % 3]
    for _ in range(3):
        synth.generate(z, c)
    times = []
    for _ in range(repeats):
        if synth.device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        synth.generate(z, c)
        if synth.device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1000 / batch)
    return float(np.median(times)), float(np.percentile(times, 90))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--full-scale", action="store_true",
                    help="time the shipped architecture at full resolution (1024 x 48) even if the shipped "
                         "weights stopped growing earlier (a half-grown G renders a lower scale, which is cheaper)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        synth = DrumSynth.load(args.models, device=dev, with_encoder=False)
        print(f"{dev}: generator {synth.model_hash}, rendering scale {synth.generator.cfg.trained_scale} of 5")
        if args.full_scale:
            synth.generator.cfg.trained_scale, synth.generator.cfg.fade = 5, 1.0
            synth._plan_key = None  # rebuild the cached inference plan for the new scale
        for bf16 in sorted({False, synth.bf16}):
            synth.bf16 = bf16
            for b in args.batches:
                med, p90 = bench(synth, b, args.repeats)
                print(f"{dev:4s} threads={torch.get_num_threads()} bf16={bf16!s:5s} batch {b:3d}: "
                      f"{med:7.2f} ms/sound median, {p90:7.2f} p90")


if __name__ == "__main__":
    main()
