"""OSC over real UDP on 127.0.0.1: python-osc's client, and liblo's oscsend/oscdump as a
third-party client. The engine is another unit: a RecordingControls implementation of
InstrumentControls stands in for it; the transport (sockets, python-osc server) is real.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import pytest
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

from liveinstrument.control.mapping import load_mapping
from liveinstrument.control.osc_server import OscServer
from liveinstrument.control.recording import RecordingControls
from liveinstrument.engine.commands import PAD_PARAMS

F32_08 = pytest.approx(0.8, abs=1e-6)  # OSC floats are float32


@pytest.fixture
def rec() -> RecordingControls:
    return RecordingControls()


@pytest.fixture
def server(rec: RecordingControls):
    srv = OscServer(rec, load_mapping("touchosc"), port=0).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: OscServer) -> SimpleUDPClient:
    return SimpleUDPClient(*server.address)


def drain(c: SimpleUDPClient, until: str | None = None, timeout: float = 2.0) -> list[tuple[str, list]]:
    """Messages arriving at the client's socket, until ``until`` arrives or it stays quiet."""
    out: list[tuple[str, list]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in c.get_messages(0.2 if until is None else 0.5):
            out.append((m.address, list(m.params)))
            if until is not None and m.address == until:
                return out
        if until is None:
            return out
    return out


def test_binds_localhost_by_default(server: OscServer) -> None:
    assert server.address[0] == "127.0.0.1" and server.address[1] > 0


def test_pad_params_triggers_and_actions(server: OscServer, client: SimpleUDPClient,
                                         rec: RecordingControls) -> None:
    sends = [
        ("/drumgan/pad/1/kick", 0.8),
        ("/drumgan/pad/2/variation", 1),          # int accepted
        ("/drumgan/pad/2/decay", 1.7),            # clamped
        ("/drumgan/pad/3/trigger", None),         # default velocity 1
        ("/drumgan/pad/3/trigger", 0.5),
        ("/drumgan/pad/3/trigger", 0.0),          # TouchOSC button release -> note-off
        ("/drumgan/pad/4/generate", 1.0),         # press
        ("/drumgan/pad/4/generate", 0.0),         # release: ignored
        ("/drumgan/pad/4/new_direction", None),   # no argument
        ("/drumgan/pad/5/analyze", "/tmp/hit.wav"),
        ("/drumgan/pad/6/xy", [0.25, 0.75]),
        ("/drumgan/master", 0.5),
        ("/drumgan/select", 9),
        ("/drumgan/capture", 1.0),                # global capture -> selected pad
        ("/drumgan/pad/*/decay", 0.25),           # every pad
        ("/drumgan/pad/selected/snare", 0.5),
        ("/1/fader1", 0.25),                      # stock TouchOSC layout alias -> selected kick
        ("/2/push12", 1.0),                       # {pad} alias
        ("/3/xy", [0.5, 0.5]),
    ]
    for addr, val in sends:
        client.send_message(addr, val)
    calls = rec.wait_calls(20)
    assert calls == [
        ("set_param", 1, "kick", F32_08), ("set_param", 2, "variation", 1.0),
        ("set_param", 2, "decay", 1.0),
        ("trigger", 3, 1.0), ("trigger", 3, 0.5), ("release", 3),
        ("action", 4, "generate"), ("action", 4, "new_direction"),
        ("analyze_file", 5, "/tmp/hit.wav"),
        ("set_param", 6, "variation", 0.25), ("set_param", 6, "variation_y", 0.75),
        ("set_global", "master", 0.5),
        ("action", 9, "capture"),
        ("set_param", 0, "decay", 0.25),
        ("set_param", 9, "snare", 0.5),
        ("set_param", 9, "kick", 0.25),
        ("trigger", 12, 1.0),
        ("set_param", 9, "variation", 0.5), ("set_param", 9, "variation_y", 0.5),
    ]
    s = server.stats_snapshot()
    assert s["clamped"] == 1 and s["messages"] == len(sends)


@pytest.mark.skipif(shutil.which("oscsend") is None, reason="liblo-tools (oscsend) not installed")
def test_oscsend_third_party_client(server: OscServer, rec: RecordingControls) -> None:
    port = str(server.address[1])
    for args in (["/drumgan/pad/1/kick", "f", "0.8"], ["/drumgan/pad/2/trigger"],
                 ["/drumgan/pad/2/trigger", "i", "0"], ["/drumgan/pad/3/generate", "f", "1.0"],
                 ["/drumgan/pad/4/analyze", "s", "/tmp/a b.wav"], ["/drumgan/pad/5/xy", "ff", "0.1", "0.9"]):
        subprocess.run(["oscsend", "localhost", port, *args], check=True, timeout=5)
    assert rec.wait_calls(7) == [
        ("set_param", 1, "kick", F32_08), ("trigger", 2, 1.0), ("release", 2),
        ("action", 3, "generate"), ("analyze_file", 4, "/tmp/a b.wav"),
        ("set_param", 5, "variation", pytest.approx(0.1)), ("set_param", 5, "variation_y", pytest.approx(0.9)),
    ]


@pytest.mark.skipif(shutil.which("oscdump") is None, reason="liblo-tools (oscdump) not installed")
def test_state_round_trip_with_oscsend_and_oscdump(server: OscServer, rec: RecordingControls) -> None:
    rec.set_param(1, "kick", 0.8)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a free port for oscdump
        s.bind(("127.0.0.1", 0))
        dump_port = s.getsockname()[1]
    dump = subprocess.Popen(["oscdump", "-L", str(dump_port)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)  # let oscdump bind
        subprocess.run(["oscsend", "localhost", str(server.address[1]), "/drumgan/state", "i", str(dump_port)],
                       check=True, timeout=5)
        lines = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            line = dump.stdout.readline()
            lines.append(line)
            if "/drumgan/state/end" in line:
                break
    finally:
        dump.terminate()
        dump.wait(5)
    assert any(l.split()[1:] == ["/drumgan/pad/1/kick", "f", "0.800000"] for l in lines), lines[:3]
    assert sum("/drumgan/pad/" in l for l in lines) == 16 * len(PAD_PARAMS) + len(PAD_PARAMS)


def test_state_query_answers_the_sender(server: OscServer, client: SimpleUDPClient,
                                        rec: RecordingControls) -> None:
    rec.set_param(2, "snare", 0.25)
    client.send_message("/drumgan/state", None)
    msgs = dict((a, v) for a, v in drain(client, until="/drumgan/state/end"))
    assert msgs["/drumgan/pad/2/snare"] == [0.25]
    assert msgs["/drumgan/master"] == [pytest.approx(0.8)]
    assert msgs["/drumgan/selected"] == [1] and "/drumgan/state/end" in msgs
    assert sum(a.startswith("/drumgan/pad/") and a.split("/")[3].isdigit() for a in msgs) == 16 * len(PAD_PARAMS)
    client.send_message("/drumgan/state/json", None)
    (addr, (text,)), = drain(client, until="/drumgan/state/json")
    assert json.loads(text)["pads"][1]["snare"] == 0.25


def test_subscribe_pushes_changes_without_echo(server: OscServer, rec: RecordingControls) -> None:
    a, b = SimpleUDPClient(*server.address), SimpleUDPClient(*server.address)
    for c in (a, b):
        c.send_message("/drumgan/subscribe", None)
        drain(c, until="/drumgan/state/end")
    rec.set_param(2, "kick", 0.5)          # a change from elsewhere (e.g. a MIDI knob)
    assert ("/drumgan/pad/2/kick", [0.5]) in drain(a)
    a.send_message("/drumgan/pad/1/snare", 0.75)   # a's own fader: b follows, a gets no echo
    got_b, got_a = drain(b), drain(a)
    assert ("/drumgan/pad/1/snare", [0.75]) in got_b and ("/drumgan/pad/selected/snare", [0.75]) in got_b
    assert ("/1/fader2", [0.75]) in got_b          # the stock-layout alias follows too
    assert not any(addr.endswith("snare") for addr, _ in got_a)
    a.send_message("/drumgan/select", 2)           # selected faders jump to pad 2's values
    got = drain(b)
    assert ("/drumgan/selected", [2]) in got and ("/drumgan/pad/selected/kick", [0.5]) in got
    drain(a)
    a.send_message("/drumgan/unsubscribe", None)
    rec.set_param(3, "kick", 0.1)
    assert drain(a) == [] and ("/drumgan/pad/3/kick", [pytest.approx(0.1)]) in drain(b)


def test_bad_input_is_counted_and_the_server_keeps_working(server: OscServer, client: SimpleUDPClient,
                                                          rec: RecordingControls) -> None:
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk = [b"\x00\x01garbage", b"", b"#bundle\x00\x00\x00"]  # not OSC, empty, truncated bundle
    for j in junk:
        raw.sendto(j, server.address)
    client.send_message("/drumgan/pad/1/kick", "loud")        # wrong type
    client.send_message("/drumgan/pad/1/kick", float("nan"))  # not finite
    client.send_message("/drumgan/pad/1/kick", None)           # missing value
    client.send_message("/drumgan/pad/99/kick", 0.5)           # no such pad
    client.send_message("/drumgan/pad/1/kik", 0.5)             # unknown address
    client.send_message("/elsewhere", 1.0)
    bundle = OscBundleBuilder(time.time() + 3600)              # future time tag: no sleeping
    bundle.add_content(OscMessageBuilder("/drumgan/pad/2/trigger").build())
    client.send(bundle.build())
    client.send_message("/drumgan/pad/1/kick", 0.8)            # still served, in order
    calls = rec.wait_calls(2, timeout=2.0)
    assert calls == [("trigger", 2, 1.0), ("set_param", 1, "kick", F32_08)]
    s = server.stats_snapshot()
    assert s["malformed"] == 3
    assert s["wrong_type"] == 1 and s["bad_value"] == 1 and s["missing_arg"] == 1
    assert s["bad_pad"] == 1 and s["unknown_address"] == 2
    raw.close()


def test_allow_list_rejects_other_senders(rec: RecordingControls) -> None:
    srv = OscServer(rec, port=0, allow=["127.0.0.1"]).start()
    try:
        msg = OscMessageBuilder("/drumgan/pad/1/trigger").build().dgram
        for src in ("127.0.0.2", "127.0.0.1"):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((src, 0))
                s.sendto(msg, srv.address)
        assert rec.wait_calls(1) == [("trigger", 1, 1.0)]
        time.sleep(0.1)
        assert srv.stats_snapshot()["rejected_sender"] == 1 and len(rec.calls) == 1
    finally:
        srv.stop()


def test_allow_list_entries_are_validated(rec: RecordingControls) -> None:
    with pytest.raises(ValueError, match="192.168.1.0/24"):
        OscServer(rec, allow=["tablet.local"])
