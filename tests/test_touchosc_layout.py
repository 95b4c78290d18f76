"""The shipped TouchOSC layout (mappings/touchosc.tosc): decompressed and parsed as TouchOSC
stores it (zlib + XML), every control's OSC message rebuilt and sent over real UDP to the
instrument's OSC server with the `touchosc` mapping, which must take each one. (The TouchOSC
app itself does not run here; RecordingControls stands in for the engine, as in the OSC tests.)"""
from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

from pythonosc.udp_client import SimpleUDPClient

from liveinstrument.control.mapping import load_mapping
from liveinstrument.control.osc_server import OscServer
from liveinstrument.control.recording import RecordingControls

ROOT = Path(__file__).resolve().parent.parent
TOSC = ROOT / "mappings" / "touchosc.tosc"


def _messages() -> list[tuple[str, str, list]]:
    """(control type, address, arguments as TouchOSC would send them on a press / at 0.7)."""
    root = ET.fromstring(zlib.decompress(TOSC.read_bytes()))
    assert root.tag == "lexml" and root.get("version") == "3"
    out = []
    for n in root.iter("node"):
        osc = n.find("messages/osc")
        if osc is None:
            continue
        path = "".join(p.findtext("value") for p in osc.findall("path/partial"))
        args = []
        for a in osc.findall("arguments/partial"):
            conv, kind, val = a.findtext("conversion"), a.findtext("type"), a.findtext("value")
            x = float(val) if kind == "CONSTANT" else 0.7 if n.get("type") != "BUTTON" else 1.0
            args.append(int(x) if conv == "INTEGER" else float(x))
        out.append((n.get("type"), path, args))
    return out


def test_layout_file_is_what_the_script_makes():
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_touchosc_layout.py")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert TOSC.stat().st_size < 20_000


def test_every_address_in_the_layout_reaches_the_instrument():
    msgs = _messages()
    kinds = {k for k, _, _ in msgs}
    assert {"BUTTON", "FADER", "XY", "RADIAL"} <= kinds and len(msgs) >= 40
    rec = RecordingControls()
    srv = OscServer(rec, load_mapping("touchosc"), port=0).start()
    try:
        client = SimpleUDPClient(*srv.address)
        for _, addr, args in msgs:
            client.send_message(addr, args)
        expect = sum(1 for _, a, _ in msgs if not a.endswith(("/select", "/subscribe")))
        assert rec.wait_for(lambda calls: len(calls) >= expect, timeout=5.0), rec.calls
        time.sleep(0.2)
        stats = srv.stats_snapshot()
    finally:
        srv.stop()
    bad = {k: v for k, v in stats.items() if v and any(w in k for w in ("unknown", "bad", "error", "type"))}
    assert not bad, f"the server refused some of the layout's messages: {bad}"
    assert stats["messages"] == len(msgs)
    kinds_called = {c[0] for c in rec.calls}
    assert {"trigger", "set_param", "set_global", "action"} <= kinds_called
    assert {c[1] for c in rec.calls if c[0] == "trigger"} == set(range(1, 17))
    params = {c[2] for c in rec.calls if c[0] == "set_param"}
    assert {"kick", "snare", "cymbal", "variation", "variation_y", "tune", "decay", "pan", "gain"} <= params
