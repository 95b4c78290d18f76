"""The JACK server dies under the running instrument and comes back (engine/jack_out.py).

A real ``jackd -d dummy`` is killed with SIGKILL while the C core plays as its client: the
owner's housekeeping must say so in one line, keep the process and the pads' state alive, and
reconnect by itself once a server of the same name runs again; notes sent to the new server's
``drumgan:midi_in`` from another process (benchmarks/jack_probe.py) must then sound.

JACK keeps each server's name in a machine-wide registry of 8 slots, and a SIGKILLed server
never frees its slot: each test restarts the killed server under the same name (which takes
the slot back) and stops it with SIGTERM, so nothing is left for later tests.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import _start_jackd, _stop_jackd, wait_until

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "benchmarks" / "jack_probe.py"
sys.path.insert(0, str(ROOT / "benchmarks"))


def _release(srv):
    """Stop ``srv``; if it was killed, start and stop a server of its name (frees its slot)."""
    if srv.proc.poll() is not None:
        try:
            srv = _start_jackd(name=srv.name)
        except RuntimeError:
            return
    _stop_jackd(srv.proc)


def _housekeep_until(out, pred, timeout: float) -> bool:
    """The owner's loop (drumgan live calls housekeeping 4 times a second)."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        out.housekeeping()
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.jack
def test_a_killed_jack_server_is_reported_and_rejoined(tmp_path, caplog):
    from jack_probe import first_samples
    from liveinstrument.control.mapping import load_mapping
    from liveinstrument.control.midi_in import MidiRouter
    from liveinstrument.engine import native_core as nc
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.jack_out import JackOut
    srv = _start_jackd(tmp_path=tmp_path)
    try:
        with Instrument(n_pads=2, random_model=0, seed=1) as inst:
            assert inst.wait_ready(60.0)
            inst.set_param(1, "decay", 0.3)
            router = MidiRouter(inst, load_mapping("gm-default"))    # note 36 -> pad 1
            with JackOut(inst, server=srv.name, midi_feed=router.feed, connect_playback=False) as out:
                assert out.connected
                calls0 = int(inst.mixer.stats[nc.ST_CALLBACKS])
                assert wait_until(lambda: int(inst.mixer.stats[nc.ST_CALLBACKS]) > calls0 + 50, 10)
                caplog.set_level(logging.WARNING, logger="drumgan.engine")
                srv.proc.send_signal(signal.SIGKILL)
                srv.proc.wait(5)
                t_kill = time.monotonic()
                assert _housekeep_until(out, lambda: out.stats()["jack"] == "lost", 5.0), out.stats()
                noticed_ms = (time.monotonic() - t_kill) * 1e3
                lost = [r.getMessage() for r in caplog.records if "stopped or dropped" in r.getMessage()]
                assert len(lost) == 1 and srv.name in lost[0], [r.getMessage() for r in caplog.records]
                # no server: tries go on quietly, the pads keep their state, nothing plays
                assert not _housekeep_until(out, lambda: out.connected, 2.5)
                assert inst.state()["pads"][0]["decay"] == pytest.approx(0.3)
                srv = _start_jackd(tmp_path=tmp_path, name=srv.name)   # the same name, a new process
                assert _housekeep_until(out, lambda: out.connected, 10.0), out.stats()
                back = [r.getMessage() for r in caplog.records if "playing again" in r.getMessage()]
                assert len(back) == 1, [r.getMessage() for r in caplog.records]
                f = tmp_path / "after.npz"
                subprocess.run([sys.executable, str(PROBE), "--server", srv.name, "--midi-dst",
                                out.midi_port_name, "--audio-src", out.port_name(0), "--notes", "5",
                                "--out", str(f)], check=True, timeout=60)
                d = np.load(f)
                first = first_samples(d["send"], d["rec"][0], int(d["rec_start"]), 1e-4, 4 * int(d["period"]))
                assert (first >= 0).sum() == 5, f"notes after the reconnect: {first.tolist()}"
                s = out.stats()
                assert s["server_lost"] == 1 and s["jack"] == "connected", s
                print(f"server loss noticed after {noticed_ms:.0f} ms; 5 of 5 notes played after the reconnect")
    finally:
        _release(srv)


@pytest.mark.jack
def test_drumgan_live_plays_on_after_its_jack_server_restarts(tmp_path):
    """The whole program: MIDI auto-connect's own JACK client dies with the server too, and a
    new client must not be opened while a dead one is (libjack then crashes the process)."""
    srv = _start_jackd(tmp_path=tmp_path)
    env = dict(os.environ, JACK_DEFAULT_SERVER=srv.name)
    log_path = tmp_path / "live.log"
    proc = subprocess.Popen([sys.executable, "-m", "liveinstrument.cli", "live", "--random-model", "--headless",
                             "--duration", "40", "--osc-port", "-1", "--no-web"], stdout=open(log_path, "w"),
                            stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
    try:
        import jack
        probe = jack.Client("loss_check", servername=srv.name, no_start_server=True)
        assert wait_until(lambda: bool(probe.get_ports("drumgan:midi_in")) or proc.poll() is not None, 60)
        probe.close()
        # started (controls up): a server that dies while clients are still being opened is not this test
        assert wait_until(lambda: "MIDI auto-connect" in log_path.read_text() or proc.poll() is not None, 30)
        assert proc.poll() is None, log_path.read_text()
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(5)
        assert wait_until(lambda: "stopped or dropped" in log_path.read_text(), 5), log_path.read_text()
        time.sleep(2.0)                                   # a second of tries with no server
        srv = _start_jackd(tmp_path=tmp_path, name=srv.name)
        assert wait_until(lambda: "playing again" in log_path.read_text(), 10), log_path.read_text()
        time.sleep(6.0)                                   # the renderer renders 16 pads on 2 cores
        f = tmp_path / "after.npz"
        subprocess.run([sys.executable, str(PROBE), "--server", srv.name, "--midi-dst", "drumgan:midi_in",
                        "--audio-src", "drumgan:out_1", "--notes", "5", "--spacing", "60", "--out", str(f)],
                       check=True, timeout=60)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        _release(srv)
    text = log_path.read_text()
    assert rc == 0, f"exit code {rc}: {text[-3000:]}"
    summary = json.loads(text.strip().splitlines()[-1])
    assert summary["server_lost"] == 1 and summary["hits"] == 5, summary
    assert np.abs(np.load(f)["rec"][0]).max() > 0.01, "the hits after the restart reached the new server"
    assert text.count("stopped or dropped") == 1 and text.count("playing again") == 1, text[-3000:]
