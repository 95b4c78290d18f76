"""The per-sender OSC cap against real traffic: real UDP from three sender processes on three
loopback addresses into the real OSC server driving the real Instrument (synchronous
renderer; only mixer parameters move, so no render runs on the OSC thread).

A Max patch at 1 kHz and a 16-fader TouchOSC-like sweep at 3 kHz (over the former fixed
2,000 packets/s cap) must lose nothing while a 15,000 packets/s flood from a third address
is cut to its sender's limit, with one rate-limited log line that says how to change it."""
from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from liveinstrument.control.osc_guard import DEFAULT_RATE
from liveinstrument.control.osc_server import OscServer
from liveinstrument.engine.instrument import Instrument

pytestmark = pytest.mark.slow

# one sender: N messages ADDR (pad from a template) at RATE per second, paced by sleeps
_SENDER = r"""
import socket, sys, time
from pythonosc.osc_message_builder import OscMessageBuilder
ip, port, tmpl, rate, n, pads = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, 0))
t0 = time.perf_counter()
for i in range(n):
    b = OscMessageBuilder(tmpl.format(pad=1 + i % pads))
    b.add_arg(0.001 + 0.99 * (i // pads) / (n // pads + 1))   # each message a new value for its pad
    s.sendto(b.build().dgram, ("127.0.0.1", port))
    if i % 10 == 9:
        time.sleep(max(0.0, t0 + (i + 1) / rate - time.perf_counter()))
print(time.perf_counter() - t0)
"""


def _send(ip: str, port: int, tmpl: str, rate: float, n: int, pads: int = 1) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _SENDER, ip, str(port), tmpl, str(rate), str(n), str(pads)],
                            stdout=subprocess.PIPE, text=True)


def test_fast_legit_senders_lose_nothing_while_a_flood_is_capped(random_synth, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="liveinstrument.control")
    with Instrument(synth=random_synth, synchronous=True) as inst:
        got: dict[str, int] = {"gain": 0, "pan": 0, "velocity_timbre": 0}

        def count(pad: int, name: str, value: float) -> None:
            if name in got:
                got[name] += 1
        inst.subscribe(count)
        osc = OscServer(inst, port=0).start()
        try:
            port = osc.address[1]
            flood_s, flood_rate = 4.0, 15_000
            flood = _send("127.0.0.2", port, "/drumgan/pad/{pad}/velocity_timbre", flood_rate,
                          int(flood_s * flood_rate), pads=16)
            time.sleep(0.3)
            max_patch = _send("127.0.0.1", port, "/drumgan/pad/{pad}/gain", 1_000, 3_000)
            sweep = _send("127.0.0.3", port, "/drumgan/pad/{pad}/pan", 3_000, 4_800, pads=16)
            took = {k: float(p.communicate(timeout=60)[0]) for k, p in
                    (("max", max_patch), ("sweep", sweep), ("flood", flood))}
            time.sleep(0.5)
            st = osc.stats_snapshot()
        finally:
            osc.stop()
    assert took["max"] < 4.5 and took["sweep"] < 2.5, f"senders could not keep their rates: {took}"
    assert got["gain"] == 3_000, f"the 1 kHz sender lost {3_000 - got['gain']} of 3,000 messages ({st})"
    assert got["pan"] == 4_800, f"the 3 kHz sweep lost {4_800 - got['pan']} of 4,800 messages ({st})"
    # the flood: at most its burst plus the sustained rate over the time it sent
    assert st["rate_limited"] > 0
    assert got["velocity_timbre"] <= DEFAULT_RATE * (took["flood"] + 0.5) + DEFAULT_RATE
    lines = [r.getMessage() for r in caplog.records if "per-sender limit" in r.getMessage()]
    assert 1 <= len(lines) <= 2 and "127.0.0.2" in lines[0] and "--osc-rate-limit" in lines[0], lines
