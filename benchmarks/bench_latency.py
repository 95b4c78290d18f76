#!/usr/bin/env python3
"""MIDI note -> first output sample, on a JACK dummy server: the C core as a JACK client
(constant and immediate timing) against FluidSynth (``fluidsynth -a jack -m jack``, a C
sample player) on the same server, at 64 and 128 frames.

A JACK client in its own process (``jack_probe.py``) sends each note-on at a known frame
(a random offset inside its cycle) into the player's JACK MIDI input and records its left
output; latency = frame of the first sample above -60 dBFS minus the send frame (searched
from the start of the send's cycle: a player that starts a note at the start of the cycle it
arrived in, ignoring its frame offset, shows up to one block of negative latency). The
instrument routes the notes through its real MidiRouter (gm-default mapping); its pad plays
one short variant (decay 0, no round-robin) so every note starts the same. FluidSynth plays
GM side stick (note 37, reverb and chorus off). Add the device's playback latency (JACK:
its periods) for note-to-DAC; it is the same for both players.

    python benchmarks/bench_latency.py [--notes 30] [--periods 64 128]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
THRESHOLD = 1e-3            # -60 dBFS
SPACING_S = 0.35            # between notes: each has died away below the threshold


def _probe(server: str, midi_dst: str, audio_src: str, notes: int, period: int, rate: int, note: int,
           seed: int) -> tuple[np.ndarray, int]:
    from jack_probe import first_samples
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "p.npz"
        subprocess.run([sys.executable, str(HERE / "jack_probe.py"), "--server", server, "--midi-dst", midi_dst,
                        "--audio-src", audio_src, "--notes", str(notes), "--note", str(note),
                        "--spacing", str(int(SPACING_S * rate / period)), "--seed", str(seed), "--out", str(f)],
                       check=True, timeout=120)
        d = np.load(f)
        first = first_samples(d["send"], d["rec"][0], int(d["rec_start"]), THRESHOLD, 8 * period,
                              d["offsets"])
        lat = (first - d["send"])[first >= 0] / rate * 1e3
        return lat, int(d["xruns"])


def _instrument(server: str, timing: str, notes: int, period: int, rate: int, seed: int) -> dict:
    from liveinstrument.control.mapping import load_mapping
    from liveinstrument.control.midi_in import MidiRouter
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.jack_out import JackOut
    with Instrument(n_pads=2, random_model=0, seed=1, timing=timing) as inst:
        inst.set_param(1, "round_robin", 0.0)
        inst.set_param(1, "decay", 0.0)
        inst.wait_ready(120)
        time.sleep(0.5)
        router = MidiRouter(inst, load_mapping("gm-default"))
        with JackOut(inst, server=server, midi_feed=router.feed, connect_playback=False) as out:
            lat, xr = _probe(server, out.midi_port_name, out.port_name(0), notes, period, rate, 36, seed)
            late = inst.mixer.late_events
    return {"lat": lat, "xruns": xr, "late": late}


def _fluidsynth(server: str, notes: int, period: int, rate: int, seed: int) -> dict:
    from fluidsynth_peer import fluidsynth
    with fluidsynth(server, period) as (midi_in, left):
        lat, xr = _probe(server, midi_in, left, notes, period, rate, 37, seed)
    return {"lat": lat, "xruns": xr, "late": 0}


def _row(name: str, r: dict, notes: int) -> str:
    lat = r["lat"]
    if lat.size == 0:
        return f"    {name:34s} no onsets found"
    p5, p50, p95 = np.percentile(lat, [5, 50, 95])
    return (f"    {name:34s} p50 {p50:6.3f} ms  p95 {p95:6.3f} ms  spread 5-95% {p95 - p5:6.3f} ms  "
            f"max-min {np.ptp(lat):6.3f} ms  ({lat.size}/{notes} notes, {r['xruns']} xruns, {r['late']} late)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=30)
    ap.add_argument("--periods", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--rate", type=int, default=44_100)
    a = ap.parse_args()
    from liveinstrument.engine.jack_dummy import dummy_jack
    print(f"MIDI note-on -> first output sample above -60 dBFS (JACK dummy, {a.rate} Hz, jackd -R; "
          f"{os.cpu_count()} cores, load avg before {os.getloadavg()[0]:.2f})")
    for period in a.periods:
        with dummy_jack(a.rate, period) as server:
            rows = [("C core, --timing constant", _instrument(server, "constant", a.notes, period, a.rate, 1)),
                    ("C core, --timing immediate", _instrument(server, "immediate", a.notes, period, a.rate, 1)),
                    ("FluidSynth (-a jack -m jack)", _fluidsynth(server, a.notes, period, a.rate, 1))]
        print(f"  {period} frames ({period / a.rate * 1e3:.2f} ms per block):")
        for name, r in rows:
            print(_row(name, r, a.notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
