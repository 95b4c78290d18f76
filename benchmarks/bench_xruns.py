#!/usr/bin/env python3
"""Xruns and callback duration at 128 frames, 32 voices sounding, renderer saturated by a CC sweep,
side by side with FluidSynth played the same notes on the same JACK server.

JACK dummy server (44.1 kHz, 128 frames); the engine as a JACK client (the C core,
``--audio jack``, as ``drumgan live`` runs under JACK) or its PortAudio stream
(``--audio portaudio``); MIDI notes at ~80/s across 8 pads, sent from a python-rtmidi JACK
output (its own C++ process callback, no Python in the graph) into the engine's JACK MIDI
port, keep 32 voices sounding (stealing the oldest); with PortAudio the same notes go
through ``Instrument.trigger`` instead;
a 100 Hz sweep of latent/class parameters over all pads keeps the renderer
process busy all the time. Xruns are counted by the JACK server's own reports
(a JACK client's xrun callback) and by PortAudio's underflow flags.

Before the engine starts, the same JACK server runs for --floor-s seconds with only
the monitor client attached: xruns there are the platform's (a VM's vCPU stalls, a
busy host), not the engine's; both rates are printed per minute. A probe thread in
the engine process sleeps 1 ms in a loop and records how late it wakes: that bounds
how long any thread held the GIL (plus scheduling delay) during the run.

Then FluidSynth (``fluidsynth -a jack -m jack``, GM soundfont, reverb/chorus off) gets
the same note stream from the same rtmidi output for the same time on the same server.

    python benchmarks/bench_xruns.py [--seconds 60] [--period 128] [--floor-s 20]
"""
from __future__ import annotations

import argparse
import os
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
    ap.add_argument("--floor-s", type=float, default=20.0, help="platform floor: JACK + monitor only")
    ap.add_argument("--threads", type=int, default=None, help="renderer torch threads (default: auto)")
    ap.add_argument("--nice", type=int, default=15, help="renderer niceness (default 15)")
    ap.add_argument("--audio", choices=("jack", "portaudio"), default="jack")
    ap.add_argument("--no-fluidsynth", action="store_true", help="skip the FluidSynth run")
    a = ap.parse_args()
    import jack
    import rtmidi
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fluidsynth_peer import fluidsynth
    from liveinstrument.control.mapping import load_mapping
    from liveinstrument.control.midi_in import MidiRouter
    from liveinstrument.engine.audio_out import AudioOut
    from liveinstrument.engine.jack_out import JackOut
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.jack_dummy import dummy_jack
    load0 = os.getloadavg()
    notes = (36, 38, 42, 46, 49, 51, 45, 48)      # gm-default: pads 1..8
    with dummy_jack(44_100, a.period) as server:
        mon = jack.Client("xrun_mon", servername=server, no_start_server=True)
        xr = [0]
        mon.set_xrun_callback(lambda d: xr.__setitem__(0, xr[0] + 1))
        mon.activate()
        sender = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="bench_notes")
        sender.open_virtual_port("out")
        sender_port = next(p.name for p in mon.get_ports("bench_notes", is_midi=True, is_output=True))

        def send(i):
            vel = int(127 * (0.5 + 0.5 * ((i * 7) % 10) / 10))
            sender.send_message([0x99, notes[i % 8], vel])

        def play(note, every64=None) -> int:
            t_end = time.monotonic() + a.seconds
            i = 0
            while time.monotonic() < t_end:
                note(i)
                i += 1
                if i % 64 == 0 and every64 is not None:
                    every64()
                time.sleep(1 / a.rate)
            return i
        time.sleep(a.floor_s)                      # platform floor: nothing but JACK and this client
        xr_floor = xr[0]
        with Instrument(n_pads=8, random_model=0, seed=1, max_voices=a.voices, renderer_threads=a.threads,
                        renderer_nice=a.nice) as inst:
            inst.wait_ready(120)
            stop = threading.Event()
            n_cc = [0]
            voices = []
            late: list[float] = []

            def sweep():
                i = 0
                while not stop.is_set():
                    p = 1 + i % 8
                    inst.set_param(p, ("snare", "variation", "cymbal")[i % 3], 0.5 + 0.5 * np.sin(i / 30))
                    i += 1
                    n_cc[0] = i
                    time.sleep(0.01)

            def probe():                           # GIL + scheduling: how late does a 1 ms sleep wake?
                while not stop.is_set():
                    t0 = time.perf_counter()
                    time.sleep(0.001)
                    late.append(time.perf_counter() - t0 - 0.001)

            if a.audio == "jack":
                out = JackOut(inst, server=server, midi_feed=MidiRouter(inst, load_mapping("gm-default")).feed,
                              connect_playback=False)
            else:
                out = AudioOut(inst, blocksize=a.period)
            with out:
                if a.audio == "jack":
                    mon.connect(sender_port, out.midi_port_name)
                time.sleep(0.5)
                xr0 = xr[0]
                ths = [threading.Thread(target=f, daemon=True) for f in (sweep, probe)]
                for th in ths:
                    th.start()

                def note(i):
                    if a.audio == "jack":
                        send(i)
                    else:
                        inst.trigger(1 + i % 8, 0.5 + 0.5 * ((i * 7) % 10) / 10)
                i = play(note, lambda: voices.append(inst.mixer.active_voices()))
                stop.set()
                for th in ths:
                    th.join()
                xr_run = xr[0] - xr0
                st = out.stats()
            rs = inst.renderer.stats()
            steals = inst.mixer.steals if inst.mixer else 0
            late_notes = inst.mixer.late_events
        fs = None
        if not a.no_fluidsynth:
            with fluidsynth(server, a.period) as (fs_midi, _left):
                mon.connect(sender_port, fs_midi)
                time.sleep(0.5)
                x_fs0 = xr[0]
                n_fs = play(send)
                fs = (xr[0] - x_fs0, n_fs)
        sender.close_port()
        del sender
        mon.deactivate()
        mon.close()
    v = np.array(voices) if voices else np.zeros(1)
    lt = np.array(late) * 1e3 if late else np.zeros(1)
    print(f"xruns at {a.period} frames (JACK dummy, 44.1 kHz, jackd -R; audio thread {st['audio_thread_policy']}; "
          f"renderer {rs['threads']} torch thread(s), nice {rs['nice']}; {os.cpu_count()} cores, load avg before "
          f"{load0[0]:.2f}):")
    print(f"  platform floor, JACK + monitor only, {a.floor_s:.0f} s: {xr_floor} xruns "
          f"({60 * xr_floor / max(a.floor_s, 1e-9):.1f}/min)")
    print(f"  engine running ({st['device']}), {a.seconds:.0f} s: JACK-reported {xr_run} xruns "
          f"({60 * xr_run / a.seconds:.1f}/min), the engine's own count {st['xruns']}, late notes {late_notes}")
    if fs is not None:
        print(f"  FluidSynth, same notes, same server, {a.seconds:.0f} s: JACK-reported {fs[0]} xruns "
              f"({60 * fs[0] / a.seconds:.1f}/min), {fs[1]} notes")
    print(f"  callback duration p50 {st['p50_ms']:.3f} ms  p99 {st['p99_ms']:.3f} ms  max {st['max_ms']:.3f} ms "
          f"(budget {a.period / 44.1:.2f} ms; p99 load {100 * st['load_p99']:.0f}%) over {st['callbacks']} callbacks")
    print(f"  GIL/scheduling probe (1 ms sleep, lateness): p50 {np.median(lt):.2f} ms  p99 "
          f"{np.percentile(lt, 99):.2f} ms  max {lt.max():.2f} ms")
    print(f"  {i} hits ({i / a.seconds:.0f}/s), voices sounding median {np.median(v):.0f} min {v.min()} "
          f"max {v.max()}; {steals} steals; {n_cc[0]} CC changes -> "
          f"{rs['generated']} G renders in the renderer process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
