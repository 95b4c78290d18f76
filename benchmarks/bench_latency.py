#!/usr/bin/env python3
"""Hit latency: trigger -> first non-zero output sample, in blocks, at 64 and 128 frames (JACK dummy).

A JACK client records the engine's output ports; the trigger's JACK frame time
(jack_frame_time at the moment ``Instrument.trigger`` is called) is compared with
the JACK frame of the first non-zero sample the engine produced. 1.0 block means
the hit is at offset 0 of the very next block. Add the device's fixed playback
latency (JACK dummy: one period) for trigger-to-DAC.

    python benchmarks/bench_latency.py [--hits 20] [--periods 64 128]
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def measure(period: int, hits: int, rate: int = 44_100) -> dict:
    import jack
    from liveinstrument.engine.audio_out import AudioOut
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.jack_dummy import dummy_jack
    with dummy_jack(rate, period) as server, Instrument(n_pads=2, random_model=0, seed=1) as inst:
        inst.set_param(1, "round_robin", 0.0)
        inst.wait_ready(120)
        rec = jack.Client("lat_rec", servername=server, no_start_server=True)
        port = rec.inports.register("in")
        frames_nz: list[int] = []
        armed = threading.Event()

        @rec.set_process_callback
        def process(n):
            if armed.is_set():
                a = port.get_array()
                nz = np.flatnonzero(a)
                if nz.size:
                    frames_nz.append(rec.last_frame_time + int(nz[0]))
                    armed.clear()

        xr = [0]
        rec.set_xrun_callback(lambda d: xr.__setitem__(0, xr[0] + 1))
        with AudioOut(inst, blocksize=period) as out:
            rec.activate()
            src = [p for p in rec.get_ports(is_output=True, is_audio=True) if p.name.startswith("PortAudio")][0]
            rec.connect(src, port)
            time.sleep(0.3)
            lat, q = [], []
            rng = np.random.default_rng(0)
            for _ in range(hits):
                time.sleep(0.65 + rng.uniform(0, 0.01))      # previous hit has ended; random phase
                frames_nz.clear()
                armed.set()
                f = rec.frame_time
                inst.trigger(1, 1.0)
                t_end = time.monotonic() + 0.5
                while not frames_nz and time.monotonic() < t_end:
                    time.sleep(0.001)
                if frames_nz:
                    lat.append((frames_nz[0] - f) / period)
            m = inst.mixer
            q = m.lat_s[:min(m.lat_n, 256)] * 1e3
            stats = out.stats()
            rec.deactivate()
            rec.close()
    lat = np.array(lat)
    return {"period": period, "n": lat.size, "p50": np.median(lat), "p95": np.percentile(lat, 95),
            "max": lat.max(), "queue_ms_p50": float(np.median(q)), "queue_ms_p95": float(np.percentile(q, 95)),
            "xruns": xr[0], "callback_p99_ms": stats.get("p99_ms", 0.0)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hits", type=int, default=20)
    ap.add_argument("--periods", type=int, nargs="+", default=[64, 128])
    a = ap.parse_args()
    print("hit latency: trigger() -> first non-zero output sample (JACK dummy, 44.1 kHz, untrained G)")
    for p in a.periods:
        r = measure(p, a.hits)
        print(f"  {p:4d} frames: {r['n']} hits, trigger -> hit sample in blocks p50 {r['p50']:.2f} p95 {r['p95']:.2f} "
              f"max {r['max']:.2f} (p95 {r['p95'] * p / 44.1:.2f} ms; +1 block JACK playback = "
              f"{(r['p95'] + 1) * p / 44.1:.2f} ms to the DAC); queue->callback p50 "
              f"{r['queue_ms_p50']:.2f} ms p95 {r['queue_ms_p95']:.2f} ms; xruns {r['xruns']}; "
              f"callback p99 {r['callback_p99_ms']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
