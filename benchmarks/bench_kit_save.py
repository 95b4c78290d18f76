#!/usr/bin/env python3
"""Kit save: bytes over the renderer pipe and wall time, pulling the audio back vs. the renderer
writing it.

"pull" is what a save did before: ask the renderer process for every pad's raw generator output
(pickled back over its reply queue), then write the kit in this process. "owner" is
``Instrument.save_kit`` now: the renderer, which holds the raw audio, writes the WAV files
itself and sends back only their names; this process writes the YAML (and any captured
audio). Bytes are the pickled sizes of the question and the answer, as the multiprocessing
queue carries them. 16 pads, round-robin on (8 slots each), untrained generator, the mixer
on a silent real-time pump (NullOut).

    python benchmarks/bench_kit_save.py [--n 7] [--pads 16]
"""
from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=7, help="saves per method")
    ap.add_argument("--pads", type=int, default=16)
    args = ap.parse_args()
    from liveinstrument.engine.audio_out import NullOut
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.state import Pad, save_kit

    with tempfile.TemporaryDirectory() as tmp, Instrument(n_pads=args.pads, random_model=0) as inst, \
            NullOut(inst):
        assert inst.wait_ready(300), "pads not rendered"
        full = inst.ring.layout.n_slots
        t_end = time.monotonic() + 300
        while time.monotonic() < t_end and any(a.shape[0] < full for a in inst.renderer.raw_audio().values()):
            time.sleep(0.5)                           # every round-robin slot rendered: a full kit
        bytes_of: dict[str, list[int]] = {"pull": [], "owner": []}
        ask = inst.renderer._ask
        method = ["pull"]

        def counting(kind, *a, **kw):
            msg = ask(kind, *a, **kw)
            bytes_of[method[0]].append(len(pickle.dumps((kind, 0, *a))) + len(pickle.dumps(msg)))
            return msg
        inst.renderer._ask = counting                 # measurement hook on this benchmark's own instance
        times: dict[str, list[float]] = {"pull": [], "owner": []}
        for i in range(args.n):
            for m in ("pull", "owner"):
                method[0] = m
                path = Path(tmp) / f"{m}{i}" / "kit.yaml"
                t0 = time.perf_counter()
                if m == "pull":
                    raw = inst.renderer.raw_audio()
                    pads = [Pad.from_dict(p.to_dict()) for p in inst.pads]
                    save_kit(path, pads, inst.model_hash, raw, {"engine_sample_rate": inst.sample_rate})
                else:
                    inst.save_kit(path)
                times[m].append(time.perf_counter() - t0)
    mb = {m: statistics.median(b) for m, b in bytes_of.items()}
    ms = {m: 1000 * statistics.median(t) for m, t in times.items()}
    print(f"{args.pads} pads x {full} slots, {args.n} saves each (medians)")
    print(f"{'method':8} {'bytes over pipe':>16} {'save ms':>9}")
    for m in ("pull", "owner"):
        print(f"{m:8} {mb[m]:16,.0f} {ms[m]:9.1f}")
    print(f"ratio pull/owner: bytes {mb['pull'] / mb['owner']:,.0f}x, time {ms['pull'] / ms['owner']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
