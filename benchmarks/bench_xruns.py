#!/usr/bin/env python3
"""Xruns and callback duration at 128 frames, 32 voices sounding, renderer saturated by a CC sweep.

JACK dummy server (44.1 kHz, 128 frames); the engine's PortAudio stream on it;
hits at ~80/s across 8 pads keep 32 voices sounding (stealing the oldest);
a 100 Hz sweep of latent/class parameters over all pads keeps the renderer
process busy all the time. Xruns are counted by the JACK server's own reports
(a JACK client's xrun callback) and by PortAudio's underflow flags.

    python benchmarks/bench_xruns.py [--seconds 60] [--period 128]
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--period", type=int, default=128)
    ap.add_argument("--voices", type=int, default=32)
    ap.add_argument("--rate", type=float, default=80.0, help="hits per second (keeps all voices busy)")
    a = ap.parse_args()
    import jack
    from liveinstrument.engine.audio_out import AudioOut
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.jack_dummy import dummy_jack
    with dummy_jack(44_100, a.period) as server, \
            Instrument(n_pads=8, random_model=0, seed=1, max_voices=a.voices) as inst:
        inst.wait_ready(120)
        mon = jack.Client("xrun_mon", servername=server, no_start_server=True)
        xr = [0]
        mon.set_xrun_callback(lambda d: xr.__setitem__(0, xr[0] + 1))
        mon.activate()
        stop = threading.Event()
        n_cc = [0]
        voices = []

        def sweep():
            i = 0
            while not stop.is_set():
                p = 1 + i % 8
                inst.set_param(p, ("snare", "variation", "cymbal")[i % 3], 0.5 + 0.5 * np.sin(i / 30))
                i += 1
                n_cc[0] = i
                time.sleep(0.01)

        with AudioOut(inst, blocksize=a.period) as out:
            time.sleep(0.5)
            xr0 = xr[0]
            th = threading.Thread(target=sweep, daemon=True)
            th.start()
            t_end = time.monotonic() + a.seconds
            i = 0
            while time.monotonic() < t_end:
                inst.trigger(1 + i % 8, 0.5 + 0.5 * ((i * 7) % 10) / 10)
                i += 1
                if i % 64 == 0:
                    voices.append(inst.mixer.active_voices())
                    out.housekeeping()
                time.sleep(1 / a.rate)
            stop.set()
            th.join()
            st = out.stats()
        mon.deactivate()
        mon.close()
        rs = inst.renderer.stats()
    v = np.array(voices) if voices else np.zeros(1)
    print(f"xruns over {a.seconds:.0f} s at {a.period} frames (JACK dummy, 44.1 kHz; audio thread "
          f"{st['audio_thread_policy']}): JACK-reported {xr[0] - xr0}, PortAudio underflows {st['xruns']}")
    print(f"  callback duration p50 {st['p50_ms']:.3f} ms  p99 {st['p99_ms']:.3f} ms  max {st['max_ms']:.3f} ms "
          f"(budget {a.period / 44.1:.2f} ms; p99 load {100 * st['load_p99']:.0f}%) over {st['callbacks']} callbacks")
    print(f"  {i} hits ({i / a.seconds:.0f}/s), voices sounding median {np.median(v):.0f} min {v.min()} "
          f"max {v.max()}; {inst.mixer.steals if inst.mixer else 0} steals; {n_cc[0]} CC changes -> "
          f"{rs['generated']} G renders in the renderer process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
