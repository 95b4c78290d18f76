#!/usr/bin/env python3
"""Parameter change -> new sound ready in the ring (ms p50/p95), renderer process, 2-core box.

Measures from ``Instrument.set_param`` to the moment the ring's header carries the
new generation (the mixer would play the new sound on the next hit):
  1. isolated changes of a latent/class parameter (one G render + shaping),
  2. isolated tune changes (no G render: reshaping the cached raw output),
  3. a 100 Hz CC sweep: how many of the sweep's values were rendered (coalescing)
     and the latency of those that were.
The mixer runs on a silent real-time pump (NullOut), as a sound card would drive it.

    python benchmarks/bench_param_change.py [--n 40] [--threads 1] [--sweep-s 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def wait_gen(inst, pad: int, version: int, timeout: float = 5.0) -> float | None:
    t_end = time.perf_counter() + timeout
    while time.perf_counter() < t_end:
        if inst.generation(pad) >= version:
            return time.perf_counter()
        time.sleep(0.0002)
    return None


def isolated(inst, name: str, n: int, rng) -> np.ndarray:
    lat = []
    for i in range(n):
        v = float(rng.uniform(0, 1))
        t0 = time.perf_counter()
        inst.set_param(1, name, v)
        ver = inst._want_version[0]
        t1 = wait_gen(inst, 1, ver)
        if t1 is not None:
            lat.append((t1 - t0) * 1e3)
        time.sleep(0.05)                 # let round-robin refills finish: measure the main sound alone
    return np.array(lat)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--threads", type=int, default=None, help="renderer torch threads (default: 1 on <=2 cores)")
    ap.add_argument("--sweep-s", type=float, default=3.0)
    a = ap.parse_args()
    from liveinstrument.engine.audio_out import NullOut
    from liveinstrument.engine.instrument import Instrument
    rng = np.random.default_rng(0)
    with Instrument(n_pads=4, random_model=0, seed=1, renderer_threads=a.threads) as inst, NullOut(inst):
        inst.wait_ready(120)
        for p in range(1, 5):
            inst.set_param(p, "round_robin", 0.25)
        inst.wait_ready(60)
        time.sleep(0.5)
        r = {}
        r["snare (G render)"] = isolated(inst, "snare", a.n, rng)
        r["variation (G render)"] = isolated(inst, "variation", a.n, rng)
        r["tune (reshape only)"] = isolated(inst, "tune", a.n, rng)
        print(f"parameter change -> new sound in the ring (renderer process, {inst.renderer.device}, "
              f"untrained compact G, {a.threads or 'default'} torch thread(s)):")
        for k, v in r.items():
            print(f"  {k:22s} n={v.size:3d}  p50 {np.median(v):6.1f} ms  p95 {np.percentile(v, 95):6.1f} ms  "
                  f"max {v.max():6.1f} ms")
        # CC sweep at 100 Hz on one pad
        st0 = inst.renderer.stats()
        n_sent, t_end = 0, time.perf_counter() + a.sweep_s
        while time.perf_counter() < t_end:
            inst.set_param(1, "snare", 0.5 + 0.5 * np.sin(n_sent / 20))
            n_sent += 1
            time.sleep(0.01)
        last = inst._want_version[0]
        t0 = time.perf_counter()
        t1 = wait_gen(inst, 1, last)
        st1 = inst.renderer.stats()
        lat = np.array(st1["ready_latency_s"][len(st0["ready_latency_s"]):]) * 1e3
        print(f"  100 Hz CC sweep, {a.sweep_s:.0f} s: {n_sent} changes -> {lat.size} main sounds rendered "
              f"({st1['generated'] - st0['generated']} G renders incl. round-robin); rendered ones ready "
              f"p50 {np.median(lat):.1f} ms p95 {np.percentile(lat, 95):.1f} ms; newest value ready "
              f"{(t1 - t0) * 1e3 if t1 else float('nan'):.1f} ms after the sweep stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
