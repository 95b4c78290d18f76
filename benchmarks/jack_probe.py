#!/usr/bin/env python3
"""A JACK MIDI sender + audio recorder in its own process, for latency measurements.

Client ``probe_send`` writes note-ons at chosen cycles and frame offsets into its MIDI
output (so each note's send frame is exact: cycle start + offset); client ``probe_rec``
copies every cycle of its audio input into a preallocated array indexed by JACK frame.
JACK orders the graph by connections (sender -> instrument -> recorder), so all three see
the same cycle. Its own process, so its Python callbacks never wait for the GIL of the
instrument under test (nor the instrument for theirs).

    python benchmarks/jack_probe.py --server NAME --midi-dst drumgan:midi_in \
        --audio-src drumgan:out_1 --notes 30 --out probe.npz

Writes ``send`` (JACK frames of the note-ons / the file's messages), ``offsets`` (their offsets in
their cycles), ``rec`` (float32 [channels, frames]), ``rec_start`` (JACK frame of rec[:, 0]),
``t0`` (JACK frame of the file's sample 0), ``period``, ``rate``, ``xruns``. :func:`first_samples` turns that
into each note's first output frame.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time

import numpy as np


def first_samples(send: np.ndarray, rec: np.ndarray, rec_start: int, threshold: float,
                  window: int, offsets: np.ndarray | None = None) -> np.ndarray:
    """``rec``: one channel. JACK frame of the first |sample| > threshold within ``window``
    frames after each send (-1 where none). With ``offsets`` (each send's offset in its cycle)
    the search starts at the cycle's first frame: a player that starts every note at the
    start of the cycle it arrived in (ignoring the offset) then shows a negative latency."""
    out = np.full(len(send), -1, np.int64)
    a = np.abs(rec)
    for i, s in enumerate(send):
        lo = int(s - rec_start - (0 if offsets is None else offsets[i]))
        if lo < 0:
            continue
        nz = np.flatnonzero(a[lo:lo + window] > threshold)
        if nz.size:
            out[i] = lo + rec_start + int(nz[0])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True)
    ap.add_argument("--midi-dst", required=True, help="full name of the instrument's MIDI input")
    ap.add_argument("--audio-src", required=True, action="append",
                    help="full name of an instrument output to record (repeatable: one channel each)")
    ap.add_argument("--midi-file", help="play this file's channel messages (at their sample times from "
                                        "the lead-in's end) instead of --notes single notes")
    ap.add_argument("--notes", type=int, default=30)
    ap.add_argument("--spacing", type=int, default=40, help="cycles between notes")
    ap.add_argument("--lead", type=int, default=100, help="cycles before the first note")
    ap.add_argument("--note", type=int, default=36)
    ap.add_argument("--velocity", type=int, default=127)
    ap.add_argument("--channel", type=int, default=10, help="MIDI channel 1..16 (default 10, GM drums)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--offsets", help="comma-separated frame offsets (default: random per note)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import jack
    snd = jack.Client("probe_send", servername=a.server, no_start_server=True)
    rec_c = jack.Client("probe_rec", servername=a.server, no_start_server=True)
    period, rate = snd.blocksize, snd.samplerate
    mout = snd.midi_outports.register("out")
    ains = [rec_c.inports.register(f"in_{k + 1}") for k in range(len(a.audio_src))]
    rng = np.random.default_rng(a.seed)
    if a.offsets:
        offs = [int(x) % period for x in a.offsets.split(",")]
        offs = (offs * (a.notes // len(offs) + 1))[:a.notes]
    else:
        offs = [int(x) for x in rng.integers(0, period, a.notes)]
    ch = (a.channel - 1) & 0x0F
    on = bytes([0x90 | ch, a.note & 0x7F, a.velocity & 0x7F])
    off = bytes([0x80 | ch, a.note & 0x7F, 0])
    due: dict[int, list[tuple[int, int, bytes]]] = {}       # cycle -> [(index, offset, message)]
    if a.midi_file:
        import mido
        t, msgs = 0.0, []
        for m in mido.MidiFile(a.midi_file):
            t += m.time
            if not m.is_meta and m.type != "sysex":
                msgs.append((int(round(t * rate)), bytes(m.bytes())))
        for i, (smp, data) in enumerate(msgs):
            due.setdefault(a.lead + smp // period, []).append((i, smp % period, data))
        offs = [smp % period for smp, _ in msgs]
        n_cycles = a.lead + (msgs[-1][0] // period if msgs else 0) + int(2.5 * rate / period)
    else:
        for i in range(a.notes):
            due[a.lead + i * a.spacing] = [(i, offs[i], on)]
            due[a.lead + i * a.spacing + 2] = [(-1, 0, off)]
        n_cycles = a.lead + a.notes * a.spacing + 40
    n_ev = max((i for evs in due.values() for i, _, _ in evs), default=-1) + 1
    send = np.full(n_ev, -1, np.int64)
    rec = np.zeros((len(ains), n_cycles * period + 4 * period), np.float32)
    state = {"go": False, "cycle": 0, "rec_start": None, "t0": -1, "done": threading.Event(), "xruns": 0}

    @snd.set_process_callback
    def send_cb(n):
        mout.clear_buffer()
        if not state["go"]:
            return
        c = state["cycle"]
        state["cycle"] = c + 1
        if c == a.lead:
            state["t0"] = snd.last_frame_time              # the file's sample 0
        for i, o, data in due.get(c, ()):
            mout.write_midi_event(o, data)
            if i >= 0:
                send[i] = snd.last_frame_time + o
        if c >= n_cycles:
            state["done"].set()

    @rec_c.set_process_callback
    def rec_cb(n):
        if not state["go"]:
            return
        f = rec_c.last_frame_time
        if state["rec_start"] is None:
            state["rec_start"] = f
        i = f - state["rec_start"]
        if 0 <= i and i + n <= rec.shape[1]:
            for k, p in enumerate(ains):
                rec[k, i:i + n] = p.get_array()

    def xr(_delay):
        state["xruns"] += 1
    snd.set_xrun_callback(xr)
    with snd, rec_c:
        snd.connect(mout, a.midi_dst)
        for src, p in zip(a.audio_src, ains):
            rec_c.connect(src, p)
        time.sleep(0.2)
        state["go"] = True
        if not state["done"].wait(n_cycles * period / rate + 20):
            print("probe: timed out", file=sys.stderr)
            return 1
        time.sleep(0.05)
    np.savez(a.out, send=send, offsets=np.array(offs, np.int64), rec=rec, rec_start=np.int64(state["rec_start"] or 0),
             t0=np.int64(state["t0"]), period=period,
             rate=rate, xruns=state["xruns"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
