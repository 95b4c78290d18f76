#!/usr/bin/env python3
"""Issue #15's figures in one run: parameter storm, OSC fuzz vs a closed port, renderer kill -9,
and shutdown on SIGTERM / SIGINT / SIGHUP (and kill -9 of the instrument).

The instrument runs as ``drumgan live`` does (renderer process with a warm standby, the C core
on a PortAudio stream of a private JACK dummy server, 44.1 kHz / 128 frames, the real OSC
server on a UDP port). Senders are separate processes, so they never share its interpreter.

* storm: 10,000 OSC slider changes over 16 pads x 11 parameters in 10 s. Printed: whether the
  state held the newest values as soon as the last message was handled, how many pads still
  had a render to do then (the work left; newest-wins bounds it by one per pad), the generator
  renders done from then until caught up, and the catch-up time: from the sender's last
  message until every pad's newest state is the sound in the ring.
* fuzz: the same sender (random bytes, truncated messages, bundles with random element
  sizes, deep nesting, wrong type tags, valid messages; a valid trigger every 50 packets)
  aimed first at a closed port (the baseline: the sender's own cost on the machine), then at
  the instrument. Printed side by side: JACK-reported xruns, PortAudio underflows, audio
  callback p99 and max, hits counted against valid triggers sent, non-finite blocks.
* kill: ``kill -9`` of the renderer, then a pad change at once. Printed: detection time
  (kill -> the supervisor notices), takeover, and kill -> the changed pad's new sound in the ring.
* midi: ``drumgan live`` as a subprocess on its own JACK dummy server (native backend,
  ``--per-pad-outputs``), the MIDI fuzz of tests/reliability/test_midi_fuzz_jack.py (100,000
  events by default) written into ``drumgan:midi_in`` by a player process that records every
  pad's output. Printed: events survived, valid notes sent / counted as hits / found on their
  pads (notes lost, goal 0), onsets nobody sent, messages delivered against the MIDI rules'
  count, output peak and finiteness, xruns, exit at --duration.
* signals: ``drumgan live --audio-device null`` (own process each), then SIGTERM, SIGINT,
  SIGHUP and SIGKILL. Printed: exit time, processes of the instrument still alive 2 s after
  the signal (orphans), time until none is left.

    python benchmarks/bench_reliability.py [--only storm,fuzz,kill,signals,midi] [--midi 100000] [--fuzz 100000]
        [--fuzz-rate 2500] [--kills 3]

Take the bench lock and pause the trainer (README, Benchmarks); keep a run under ~3 minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# --------------------------------------------------------------------------- sender processes
_STORM = r"""
import json, random, socket, sys, time
from pythonosc.osc_message_builder import OscMessageBuilder
port, n, secs, params = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split(",")
rng = random.Random(15)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
final = {}
t0 = time.perf_counter()
for i in range(n):
    pad, name, v = 1 + rng.randrange(16), rng.choice(params), round(rng.random(), 4)
    b = OscMessageBuilder(f"/drumgan/pad/{pad}/{name}"); b.add_arg(v)
    s.sendto(b.build().dgram, ("127.0.0.1", port))
    final[f"{pad}/{name}"] = v
    if i % 10 == 9:
        time.sleep(max(0.0, t0 + (i + 1) * secs / n - time.perf_counter()))
print(json.dumps({"t_last": time.monotonic(), "final": final}))
"""

_FUZZ = r"""
import json, random, socket, struct, sys, time
from pythonosc.osc_message_builder import OscMessageBuilder
port, n, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def msg(a, *args):
    b = OscMessageBuilder(a)
    for x in args: b.add_arg(x)
    return b.build().dgram
def fuzz(rng):
    kind = rng.randrange(6)
    good = msg(f"/drumgan/pad/{rng.randrange(20)}/{rng.choice(['kick', 'tune', 'decay', 'x'])}", rng.random())
    if kind == 0: return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    if kind == 1: return good[:rng.randrange(1, len(good))]
    if kind == 2: return b"#bundle\0" + b"\0" * 8 + struct.pack(">i", rng.randrange(-2**31, 2**31)) + good
    if kind == 3:
        p = good
        for _ in range(rng.randrange(1, 12)): p = b"#bundle\0" + b"\0" * 8 + struct.pack(">i", len(p)) + p
        return p
    if kind == 4: return b"/drumgan/pad/1/kick\0,sbq\0\0\0" + bytes(rng.randrange(256) for _ in range(12))
    return good
rng = random.Random(7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
trig = msg("/drumgan/pad/1/trigger", 1.0)
valid = 0
t0 = time.perf_counter()
for i in range(n):
    try:
        s.sendto(fuzz(rng), ("127.0.0.1", port))
        if i % 50 == 0:
            s.sendto(trig, ("127.0.0.1", port)); valid += 1
    except OSError:
        pass                                  # a closed port answers with ICMP: sends may fail
    if i % 10 == 9:
        time.sleep(max(0.0, t0 + (i + 1) / rate - time.perf_counter()))
print(json.dumps({"valid": valid, "seconds": time.perf_counter() - t0}))
"""


def _py(code: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE, text=True)


def _closed_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------- in-process sections
class Live:
    """The instrument as drumgan live builds it, on a JACK dummy server, with an xrun monitor."""

    def __init__(self, server: str, period: int):
        import jack
        from liveinstrument.control.osc_server import OscServer
        from liveinstrument.engine.audio_out import AudioOut
        from liveinstrument.engine.instrument import Instrument
        self.mon = jack.Client("rel_mon", servername=server, no_start_server=True)
        self.xr = [0]
        self.mon.set_xrun_callback(lambda d: self.xr.__setitem__(0, self.xr[0] + 1))
        self.mon.activate()
        self.inst = Instrument(random_model=0, seed=1, renderer_standby=True)
        assert self.inst.wait_ready(180), "instrument never rendered its pads"
        self.out = AudioOut(self.inst, blocksize=period).start()
        self.osc = OscServer(self.inst, port=0).start()
        self.port = self.osc.address[1]
        self.period = period

    def mark(self) -> dict:
        from liveinstrument.engine import native_core as nc
        m = self.inst.mixer
        return {"cb": int(m.stats[nc.ST_CALLBACKS]), "pa_xruns": int(m.stats[nc.ST_XRUNS]), "jack": self.xr[0],
                "hits": m.hits, "nonfinite": m.nonfinite_blocks, "t": time.monotonic()}

    def between(self, a: dict, b: dict) -> dict:
        from liveinstrument.engine import native_core as nc
        n = b["cb"] - a["cb"]
        idx = np.arange(a["cb"], b["cb"]) & (nc.N_TIMINGS - 1) if n <= nc.N_TIMINGS else np.arange(nc.N_TIMINGS)
        d = self.inst.mixer.durations[idx] * 1e3
        mins = (b["t"] - a["t"]) / 60
        return {"callbacks": n, "p99": float(np.percentile(d, 99)), "max": float(d.max()),
                "jack": b["jack"] - a["jack"], "jack_per_min": (b["jack"] - a["jack"]) / mins,
                "pa": b["pa_xruns"] - a["pa_xruns"], "hits": b["hits"] - a["hits"],
                "nonfinite": b["nonfinite"] - a["nonfinite"], "seconds": b["t"] - a["t"]}

    def pending(self) -> list[int]:
        """Pads whose newest requested state is not yet the sound in the ring."""
        inst = self.inst
        with inst._lock:
            want = dict(inst._want_version)
        return [p for p, v in want.items() if inst.generation(p + 1) < v]

    def close(self) -> None:
        self.osc.stop()
        self.out.stop()
        self.inst.close()
        self.mon.deactivate()
        self.mon.close()


def bench_fuzz(live: Live, n: int, rate: float) -> None:
    rows = {}
    for side, port in (("closed port", _closed_port()), ("instrument", live.port)):
        time.sleep(1.0)
        a = live.mark()
        p = _py(_FUZZ, port, n, rate)
        info = json.loads(p.communicate()[0])
        time.sleep(1.0)                       # the last packets and hits land
        b = live.mark()
        rows[side] = {**live.between(a, b), **info}
    osc = live.osc.stats_snapshot()
    print(f"OSC fuzz: {n:,} packets at {rate:,.0f}/s, a valid trigger every 50 (same sender, same seed):")
    print(f"  {'':22s}{'closed port':>14s}{'instrument':>14s}")
    c, i = rows["closed port"], rows["instrument"]
    for label, key, fmt in (("JACK xruns", "jack", "{:.0f}"), ("JACK xruns / min", "jack_per_min", "{:.1f}"),
                            ("PortAudio underflows", "pa", "{:.0f}"), ("callback p99 ms", "p99", "{:.3f}"),
                            ("callback max ms", "max", "{:.3f}"), ("seconds", "seconds", "{:.1f}")):
        print(f"  {label:22s}{fmt.format(c[key]):>14s}{fmt.format(i[key]):>14s}")
    print(f"  valid triggers sent {i['valid']}, hits counted {i['hits']} (fuzz adds well-formed triggers of "
          f"its own), non-finite blocks {i['nonfinite']}; OSC counters: malformed {osc.get('malformed', 0):,}, "
          f"messages {osc.get('messages', 0):,}, rate-limited {osc.get('rate_limited', 0):,}, "
          f"errors {osc.get('errors', 0)}")


def bench_storm(live: Live, n: int, secs: float) -> None:
    from liveinstrument.engine.commands import PAD_PARAMS
    inst = live.inst
    params = [p for p in PAD_PARAMS]
    time.sleep(1.0)
    m0 = live.osc.stats_snapshot().get("messages", 0)
    g0 = inst.renderer.stats()["generated"]
    p = _py(_STORM, live.port, n, secs, ",".join(params))
    info = json.loads(p.communicate()[0])
    t_last = info["t_last"]
    while live.osc.stats_snapshot().get("messages", 0) < m0 + n and time.monotonic() < t_last + 10:
        time.sleep(0.0005)
    t_handled = time.monotonic()
    behind = live.pending()
    st = {d["pad"]: d for d in inst.state()["pads"]}
    wrong = [k for k, v in info["final"].items()
             if abs(st[int(k.split("/")[0])][k.split("/")[1]] - v) > 1e-6]
    g1 = inst.renderer.stats()["generated"]
    while live.pending() and time.monotonic() < t_last + 60:
        time.sleep(0.001)
    t_done = time.monotonic()
    g2 = inst.renderer.stats()["generated"]
    print(f"parameter storm: {n:,} OSC slider changes over 16 pads x {len(params)} parameters in {secs:.0f} s:")
    print(f"  state: {len(info['final']) - len(wrong)} of {len(info['final'])} (pad, parameter) pairs held the "
          f"newest value when the last message was handled ({1e3 * (t_handled - t_last):.1f} ms after it was sent)")
    print(f"  work left then: {len(behind)} pads with a render to do (bound: one per pad, 16); "
          f"generator sounds rendered from then until caught up: {g2 - g1} (during the storm: {g1 - g0})")
    print(f"  catch-up: last message -> every pad's newest state sounding: {1e3 * (t_done - t_last):.0f} ms"
          + ("" if not live.pending() else " (NOT caught up within 60 s)"))


def bench_kill(live: Live, kills: int, gap: float) -> None:
    inst = live.inst
    rows = []
    for k in range(kills):
        time.sleep(gap)                        # the standby warms up (torch import, model, warm-up)
        r = inst.renderer
        n_seen = len(r.failures_seen)
        pad = 2 + k
        t_kill = time.monotonic()
        os.kill(r.pid, signal.SIGKILL)
        inst.set_param(pad, "kick", 0.0 if inst.pads[pad - 1].kick > 0.5 else 1.0)
        with inst._lock:
            want = inst._want_version[pad - 1]
        while inst.generation(pad) < want and time.monotonic() < t_kill + 60:
            time.sleep(0.0005)
        t_new = time.monotonic()
        seen = r.failures_seen[n_seen] if len(r.failures_seen) > n_seen else float("nan")
        take = r.recovery_s[-1] if r.recovery_s else float("nan")
        rows.append((1e3 * (seen - t_kill), 1e3 * take, 1e3 * (t_new - t_kill)))
    a = np.array(rows)
    print(f"renderer kill -9 ({kills} kills, {gap:.0f} s apart, warm standby), a pad changed right after each:")
    for name, col in (("kill -> noticed", 0), ("noticed -> standby took over", 1),
                      ("kill -> changed pad's new sound in the ring", 2)):
        print(f"  {name:44s} median {np.median(a[:, col]):8.1f} ms   max {a[:, col].max():8.1f} ms")
    print(f"  restarts {inst.renderer.restarts}; audio kept running: {live.mark()['cb'] > 0}")


# --------------------------------------------------------------------------- signals (subprocesses)
def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        for k in map(int, kids):
            out.append(k)
            todo.append(k)
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _ping(port: int, timeout: float) -> bool:
    from pythonosc.osc_message_builder import OscMessageBuilder
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(OscMessageBuilder("/drumgan/ping").build().dgram, ("127.0.0.1", port))
        return s.recvfrom(4096)[0].startswith(b"/drumgan/pong")
    except OSError:
        return False
    finally:
        s.close()


def bench_signals(warm: float) -> None:
    print("shutdown of drumgan live (--audio-device null, renderer + warm standby):")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL):
        port = _closed_port()
        p = subprocess.Popen([sys.executable, "-m", "liveinstrument.cli", "live", "--audio-device", "null",
                              "--headless", "--random-model", "--midi-in", "none", "--no-web",
                              "--osc-port", str(port), "--duration", "300"], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_end = time.monotonic() + 120
        while not _ping(port, 0.5):
            if p.poll() is not None or time.monotonic() > t_end:
                raise RuntimeError("drumgan live did not come up")
        time.sleep(warm)                       # the standby is spawned and warm
        kids = _descendants(p.pid)
        t0 = time.monotonic()
        p.send_signal(sig)
        p.wait(30)
        t_exit = time.monotonic() - t0
        while time.monotonic() < t0 + 2.0:
            time.sleep(0.01)
        orphans = [k for k in kids if _alive(k)]
        while any(_alive(k) for k in kids) and time.monotonic() < t0 + 10:
            time.sleep(0.01)
        t_gone = time.monotonic() - t0
        left = [k for k in kids if _alive(k)]
        for k in left:                         # our own run's leftovers: never leave them
            os.kill(k, signal.SIGKILL)
        print(f"  {signal.Signals(sig).name:8s} exit {1e3 * t_exit:7.0f} ms (code {p.returncode}); "
              f"{len(kids)} child processes; alive 2 s after the signal: {len(orphans)}; "
              f"all gone after {1e3 * t_gone:6.0f} ms" + (f"; {len(left)} STILL ALIVE at 10 s" if left else ""))


def bench_midi(n: int, per_cycle: int) -> None:
    import tempfile
    sys.path.insert(0, str(ROOT / "tests"))
    from reliability.live_rig import LiveJack, check_hits, play
    from reliability.midi_fuzz import MAPPING, build
    from liveinstrument.engine.jack_dummy import dummy_jack
    plan = build(n, per_cycle, 26)
    play_s = (plan.schedule.items[-1][0] + 400) * 128 / 44_100
    with tempfile.TemporaryDirectory() as tmp, dummy_jack(44_100, 128) as server:
        tmp = Path(tmp)
        (tmp / "fuzz.yaml").write_text(MAPPING)
        live = LiveJack(server, tmp / "live.log", duration=30 + play_s, extra=["--mapping", str(tmp / "fuzz.yaml")])
        try:
            st0 = live.wait_ready()
            rec, where = play(server, plan.schedule, tmp)
            alive = live.proc.poll() is None
            st1 = live.state()
            sent = rec["sent"]
            got = check_hits(rec, [int(sent[where[i]]) for i, _ in plan.valid], [p for _, p in plan.valid])
            t_end = time.monotonic()
            summary = live.wait_exit()
            late = time.monotonic() - t_end
        finally:
            live.close()
    hits = st1["counters"]["hits"] - st0["counters"]["hits"]
    lat = np.array(got["latency_cycles"])
    print(f"MIDI fuzz through drumgan:midi_in ({plan.fuzz_events:,} fuzz events, {per_cycle} per 128-frame cycle, "
          f"+ {len(plan.valid)} valid notes, {int((sent >= 0).sum()):,} JACK events sent):")
    print(f"  process alive after it: {alive}; ended by --duration: yes ({late:.1f} s after the check)")
    print(f"  valid notes {len(plan.valid)}: hits counted {hits}, found on their pad's recording {got['found']}, "
          f"lost {len(plan.valid) - got['found']}; onsets nobody sent {got['unexpected']}")
    print(f"  onset: cycle after the send cycle, p50 {np.median(lat):.0f}, max {lat.max()}")
    print(f"  messages delivered by the JACK reader {summary['midi_in']:,} (MIDI rules: {plan.messages:,}), "
          f"ring drops {summary['midi_dropped']}")
    print(f"  output: finite {got['finite']}, mix peak {got['mix_peak']:.3f}, pad peak {got['pad_peak']:.3f}, "
          f"non-finite blocks {st1['counters']['nonfinite_blocks']}; xruns: player {int(rec['xruns'])}, "
          f"instrument (whole run) {summary['xruns']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="storm,fuzz,kill,signals,midi", help="comma-separated sections")
    ap.add_argument("--fuzz", type=int, default=100_000, help="fuzz packets per side (default 100,000)")
    ap.add_argument("--fuzz-rate", type=float, default=2_500.0, help="packets/s (default 2,500)")
    ap.add_argument("--storm", type=int, default=10_000)
    ap.add_argument("--storm-s", type=float, default=10.0)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--kill-gap", type=float, default=8.0, help="s between kills (standby warm-up)")
    ap.add_argument("--period", type=int, default=128)
    ap.add_argument("--midi", type=int, default=100_000, help="MIDI fuzz events (default 100,000)")
    a = ap.parse_args()
    only = set(a.only.split(","))
    load0 = os.getloadavg()
    print(f"bench_reliability: {os.cpu_count()} cores, load avg before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; "
          f"JACK dummy 44.1 kHz, {a.period} frames; untrained generator (--random-model)")
    if only & {"storm", "fuzz", "kill"}:
        from liveinstrument.engine.jack_dummy import dummy_jack
        with dummy_jack(44_100, a.period) as server:
            live = Live(server, a.period)
            try:
                if "fuzz" in only:
                    bench_fuzz(live, a.fuzz, a.fuzz_rate)
                if "storm" in only:
                    bench_storm(live, a.storm, a.storm_s)
                if "kill" in only:
                    bench_kill(live, a.kills, a.kill_gap)
            finally:
                live.close()
    if "signals" in only:
        bench_signals(warm=4.0)
    if "midi" in only:
        bench_midi(a.midi, 5)
    print(f"load avg after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
