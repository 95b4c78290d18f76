#!/usr/bin/env python3
"""A JACK player + recorder in its own process, for the reliability tests and benchmark.

It plays a schedule (JACK MIDI events into the instrument's ``drumgan:midi_in`` and OSC
packets to its UDP port, each at a chosen cycle and frame offset) and records the
instrument's audio outputs, all on the JACK clock: client ``rel_send`` writes the MIDI and
sends the OSC from its process callback, client ``rel_rec`` copies its inputs. JACK orders
the graph by connections (sender -> instrument -> recorder), so the three run in the same
cycle and a MIDI event's frame is exact. Its own process: its Python callbacks never wait for
the test's GIL (an in-process JACK client next to rtmidi/JACK calls can deadlock).

The recording is a peak per cycle and channel (NaN/Inf propagate into it, so a non-finite
sample is visible), and, with ``--full``, the samples themselves.

    python tests/reliability/jack_player.py --server NAME --schedule s.npz --out r.npz \
        --record drumgan:out_1 --record drumgan:out_2 [--full] [--osc-port 9000] [--tail 200]

Schedule (.npz): ``cycle``, ``offset``, ``kind`` (0 MIDI, 1 OSC) per item, sorted by cycle
then offset; ``blob`` (uint8, all payloads back to back) and ``start`` (n + 1 offsets into it).
Writes ``sent`` (JACK frame each item went out at, -1 if not), ``cycle_frame`` (JACK frame of
each recorded cycle, -1 for one this client missed), ``peaks`` [cycles, channels], ``audio``
[frames, channels] (--full), ``period``, ``rate``, ``xruns``, ``midi_errors``.
"""
from __future__ import annotations

import argparse
import socket
import sys
import threading
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True)
    ap.add_argument("--schedule", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--record", action="append", required=True, help="an output port to record (repeatable)")
    ap.add_argument("--midi-dst", default="drumgan:midi_in")
    ap.add_argument("--osc-port", type=int, default=0)
    ap.add_argument("--full", action="store_true", help="keep the samples, not only per-cycle peaks")
    ap.add_argument("--lead", type=int, default=20, help="cycles recorded before the first item")
    ap.add_argument("--tail", type=int, default=200, help="cycles recorded after the last item")
    a = ap.parse_args()
    import jack

    sch = np.load(a.schedule)
    cyc, off, kind = sch["cycle"].astype(np.int64), sch["offset"].astype(np.int64), sch["kind"]
    blob, start = sch["blob"].tobytes(), sch["start"]
    items = [blob[start[i]:start[i + 1]] for i in range(len(cyc))]
    n = len(items)
    snd = jack.Client("rel_send", servername=a.server, no_start_server=True)
    rec = jack.Client("rel_rec", servername=a.server, no_start_server=True)
    period, rate = snd.blocksize, snd.samplerate
    mout = snd.midi_outports.register("out")
    ins = [rec.inports.register(f"in_{k + 1}") for k in range(len(a.record))]
    n_cycles = a.lead + (int(cyc[-1]) + 1 if n else 0) + a.tail
    sent = np.full(n, -1, np.int64)
    cycle_frame = np.full(n_cycles, -1, np.int64)
    peaks = np.zeros((n_cycles, len(ins)), np.float32)
    audio = np.zeros((n_cycles * period, len(ins)), np.float32) if a.full else None
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dst = ("127.0.0.1", a.osc_port)
    st = {"go": False, "cycle": 0, "next": 0, "rec0": -1, "xruns": 0, "midi_errors": 0, "osc_errors": 0}
    done = threading.Event()

    @snd.set_process_callback
    def send_cb(frames):
        mout.clear_buffer()
        if not st["go"]:
            return
        c = st["cycle"] - a.lead
        st["cycle"] += 1
        i = st["next"]
        t = snd.last_frame_time
        while i < n and cyc[i] <= c:
            if cyc[i] == c:
                if kind[i] == 0:
                    try:
                        mout.write_midi_event(int(off[i]), items[i])
                        sent[i] = t + off[i]
                    except jack.JackError:
                        st["midi_errors"] += 1
                else:
                    try:
                        udp.sendto(items[i], dst)
                        sent[i] = t + off[i]
                    except OSError:
                        st["osc_errors"] += 1
            i += 1
        st["next"] = i

    @rec.set_process_callback
    def rec_cb(frames):
        if not st["go"]:
            return
        t = rec.last_frame_time
        if st["rec0"] < 0:
            st["rec0"] = t
        k = (t - st["rec0"]) // period
        if k >= n_cycles:
            done.set()
            return
        cycle_frame[k] = t
        for j, p in enumerate(ins):
            x = p.get_array()
            peaks[k, j] = np.max(np.abs(x))
            if audio is not None:
                audio[k * period:(k + 1) * period, j] = x

    def on_xrun(delay):
        st["xruns"] += 1

    rec.set_xrun_callback(on_xrun)
    snd.activate()
    rec.activate()
    try:
        snd.connect(mout, a.midi_dst)
        for src, p in zip(a.record, ins):
            rec.connect(src, p)
        time.sleep(0.2)                        # the connections take effect at the next cycles
        st["go"] = True
        if not done.wait(n_cycles * period / rate * 3 + 30):
            print("jack_player: recording did not finish (JACK stopped calling?)", file=sys.stderr)
            return 1
    finally:
        st["go"] = False
        snd.deactivate()
        rec.deactivate()
        snd.close()
        rec.close()
    out = {"sent": sent, "cycle_frame": cycle_frame, "peaks": peaks, "period": period, "rate": rate,
           "xruns": st["xruns"], "midi_errors": st["midi_errors"], "osc_errors": st["osc_errors"]}
    if audio is not None:
        out["audio"] = audio
    np.savez(a.out, **out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
