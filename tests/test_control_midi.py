"""MIDI through real JACK MIDI ports: a JACK server (dummy backend, the shared ``jack_server``
fixture of tests/conftest.py), an rtmidi JACK output port connected to the instrument's
input port, real messages through it.

The engine is another unit: a RecordingControls implementation of InstrumentControls
stands in for it; ports, JACK and rtmidi's callback thread are real. ALSA MIDI needs
/dev/snd/seq; without it (containers) the ALSA cases skip and say so.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
import rtmidi
from pythonosc.udp_client import SimpleUDPClient

from liveinstrument.control.mapping import MAPPINGS_DIR, Target, load_mapping
from liveinstrument.control.midi_in import (ALSA_SEQ_DEVICE, MidiInput, MidiPortError, MidiRouter,
                                            has_alsa_seq, list_midi_inputs)
from liveinstrument.control.recording import RecordingControls
from liveinstrument.control.surfaces import ControlSurfaces

pytestmark = pytest.mark.jack


@pytest.fixture(scope="module")
def control_jack_server(jack_server) -> str:
    """The shared JACK dummy server (tests/conftest.py), by name; JACK_DEFAULT_SERVER is set
    to it, which libjack (so rtmidi's JACK API) reads when a client opens."""
    assert os.environ.get("JACK_DEFAULT_SERVER") == jack_server.name
    return jack_server.name


@pytest.fixture
def sender(control_jack_server: str):
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"sender-{uuid.uuid4().hex[:6]}")
    yield out
    out.close_port()
    out.delete()


def connect(out: rtmidi.MidiOut, port_substring: str) -> None:
    """Open an rtmidi JACK output port connected to the port whose name contains the substring."""
    ports = out.get_ports()
    matches = [i for i, p in enumerate(ports) if port_substring in p]
    assert matches, f"{port_substring} not in {ports}"
    out.open_port(matches[0], "out")
    time.sleep(0.1)  # the connection takes effect at the next JACK cycles


def test_virtual_port_receives_notes_ccs_and_survives_sysex(control_jack_server: str, sender) -> None:
    rec = RecordingControls()
    router = MidiRouter(rec, load_mapping("gm-default"))
    client = f"drumgan-{uuid.uuid4().hex[:6]}"
    midi = MidiInput(router, virtual=True, api="jack", client_name=client).open()
    try:
        assert midi.description == f"JACK virtual port {client}:midi_in"
        connect(sender, f"{client}:midi_in")
        sender.send_message([0x99, 36, 127])            # kick, ch 10
        sender.send_message([0x99, 38, 64])             # snare
        for i in range(200):                            # a sysex flood
            sender.send_message([0xF0, 0x7D, i % 128, 1, 2, 3, 0xF7])
        sender.send_message([0x99, 38, 0])              # note-on velocity 0 = note-off
        sender.send_message([0xB9, 20, 127])            # kick slider of the selected pad (2)
        sender.send_message([0xB9, 102, 127])           # generate button
        sender.send_message([0xF8])                     # clock: filtered inside rtmidi
        sender.send_message([0x42])                     # a stray data byte
        sender.send_message([0x99, 51, 100])            # ride, after all the junk
        calls = rec.wait_calls(6, timeout=5)
        assert calls == [("trigger", 1, 1.0), ("trigger", 2, pytest.approx(64 / 127)), ("release", 2),
                         ("set_param", 2, "kick", 1.0), ("action", 2, "generate"),
                         ("trigger", 6, pytest.approx(100 / 127))]
        s = router.stats.snapshot()
        assert s["sysex"] == 200 and s["junk"] == 1 and s.get("errors", 0) == 0
    finally:
        midi.close()


def test_bursts_arrive_intact_when_the_engine_is_slow(control_jack_server: str, sender) -> None:
    """Regression: with python-rtmidi's JACK callback a 0.5 ms handler turned CC values
    0..7 sent in one burst into 0,1,2,3,4,4,4,4; the polled queue keeps every byte."""
    class SlowControls(RecordingControls):
        def set_param(self, pad: int, name: str, value: float) -> None:
            time.sleep(0.002)
            super().set_param(pad, name, value)

    rec = SlowControls()
    client = f"drumgan-{uuid.uuid4().hex[:6]}"
    midi = MidiInput(MidiRouter(rec, load_mapping("gm-default")), virtual=True, api="jack",
                     client_name=client).open()
    try:
        connect(sender, f"{client}:midi_in")
        for v in range(32):
            sender.send_message([0xB0, 20, v])
        calls = rec.wait_calls(32, timeout=5)
        assert [round(c[3] * 127) for c in calls] == list(range(32))
    finally:
        midi.close()


def test_open_existing_port_by_name(control_jack_server: str, sender) -> None:
    port = f"pads-{uuid.uuid4().hex[:6]}"
    sender.open_virtual_port(port)
    assert any(port in p for p in list_midi_inputs("jack"))
    rec = RecordingControls()
    midi = MidiInput(MidiRouter(rec, load_mapping("generic-16pad")), port.upper(), api="jack").open()
    try:
        assert port in midi.description
        time.sleep(0.1)
        sender.send_message([0x90, 40, 127])
        sender.send_message([0xB0, 71, 0])
        assert rec.wait_calls(2, timeout=5) == [("trigger", 5, 1.0), ("set_param", 5, "snare", 0.0)]
    finally:
        midi.close()


def test_missing_port_lists_what_exists(control_jack_server: str, sender) -> None:
    sender.open_virtual_port("visible-port")
    with pytest.raises(MidiPortError) as ei:
        MidiInput(MidiRouter(RecordingControls(), load_mapping()), "no-such-controller", api="jack").open()
    msg = str(ei.value)
    assert "no JACK MIDI input matching 'no-such-controller'" in msg and "visible-port" in msg
    assert "--midi-in virtual" in msg


def test_no_jack_server_is_explained(control_jack_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "not-running-" + uuid.uuid4().hex[:6])
    with pytest.raises(MidiPortError, match="no JACK server 'not-running-.*' running"):
        MidiInput(MidiRouter(RecordingControls(), load_mapping()), virtual=True, api="jack").open()


@pytest.mark.skipif(has_alsa_seq(), reason="ALSA sequencer present: the error path cannot be shown")
def test_alsa_without_sequencer_says_why() -> None:
    with pytest.raises(MidiPortError, match=ALSA_SEQ_DEVICE):
        MidiInput(MidiRouter(RecordingControls(), load_mapping()), virtual=True, api="alsa").open()


def test_alsa_virtual_port() -> None:
    if not has_alsa_seq():
        pytest.skip(f"ALSA MIDI needs the sequencer device {ALSA_SEQ_DEVICE}, absent on this machine "
                    "(no snd-seq kernel module / not passed into the container); JACK MIDI is tested instead")
    rec = RecordingControls()
    midi = MidiInput(MidiRouter(rec, load_mapping()), virtual=True, api="alsa",
                     client_name=f"drumgan-{uuid.uuid4().hex[:6]}").open()
    out = rtmidi.MidiOut(rtmidi.API_LINUX_ALSA)
    try:
        idx = next(i for i, p in enumerate(out.get_ports()) if midi.client_name in p)
        out.open_port(idx)
        out.send_message([0x90, 36, 127])
        assert rec.wait_calls(1, timeout=3) == [("trigger", 1, 1.0)]
    finally:
        out.delete()
        midi.close()


def test_control_surfaces_midi_moves_reach_osc_and_learn_saves(control_jack_server: str, sender,
                                                               tmp_path: Path) -> None:
    mapping = tmp_path / "live.yaml"
    shutil.copy(MAPPINGS_DIR / "gm-default.yaml", mapping)
    rec = RecordingControls()
    client = f"drumgan-{uuid.uuid4().hex[:6]}"
    with ControlSurfaces(rec, mapping, midi_in="virtual", midi_api="jack", osc_port=0,
                         client_name=client, jack_server=control_jack_server) as cs:
        osc = SimpleUDPClient(*cs.osc.address)
        osc.send_message("/drumgan/subscribe", None)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not any(m.address == "/drumgan/state/end"
                                                      for m in osc.get_messages(0.5)):
            pass
        connect(sender, f"{client}:midi_in")
        sender.send_message([0x90, 38, 100])    # play the snare pad: selects pad 2
        sender.send_message([0xB0, 21, 127])    # snare slider: the OSC client's fader follows
        assert rec.wait_calls(2, timeout=5)[1] == ("set_param", 2, "snare", 1.0)
        pushed = {(m.address, tuple(m.params)) for m in osc.get_messages(0.5)}
        assert ("/drumgan/pad/2/snare", (1.0,)) in pushed and ("/drumgan/selected", (2,)) in pushed

        osc.send_message("/drumgan/learn", "pad/2/decay")            # arm from the tablet
        assert [m.address for m in osc.get_messages(1.0)][:1] == ["/drumgan/learn/armed"]
        sender.send_message([0xB0, 90, 10])     # this CC is learned...
        sender.send_message([0xB0, 90, 127])    # ...and then moves pad 2's decay
        assert rec.wait_for(lambda c: ("set_param", 2, "decay", 1.0) in c, timeout=5)
        assert cs.learn.save_error is None
        stats = cs.stats()
        assert stats["midi"]["cc"] == 3 and stats["osc"]["subscribers"] == 1
    assert load_mapping(mapping).learned_cc == {90: [Target("param", pad=2, name="decay")]}


def test_unterminated_sysex_does_not_swallow_notes(control_jack_server: str, sender) -> None:
    """A status byte ends a sysex: the 5 notes after a broken ``F0 7E 01`` all play, through
    a real JACK MIDI port (rtmidi's JACK input glues them onto the sysex until an F7)."""
    rec = RecordingControls()
    router = MidiRouter(rec, load_mapping("gm-default"))
    client = f"drumgan-{uuid.uuid4().hex[:6]}"
    midi = MidiInput(router, virtual=True, api="jack", client_name=client).open()
    try:
        connect(sender, f"{client}:midi_in")
        sender.send_message([0xF0, 0x7E, 0x01])
        for note in (36, 38, 42, 46, 49):
            sender.send_message([0x99, note, 100])
        calls = rec.wait_calls(5, timeout=5)
        assert [c[1] for c in calls if c[0] == "trigger"] == [1, 2, 3, 4, 5]
        assert router.stats["sysex_unterminated"] == 1
    finally:
        midi.close()


def test_stream_rules_realtime_running_status_and_junk() -> None:
    rec = RecordingControls()
    router = MidiRouter(rec, load_mapping("gm-default"))
    # running status (two notes from one status), clock inside a message, sysex ended by a status
    router.feed([0x99, 36, 0xF8, 100, 38, 100, 0xF0, 1, 2, 0x99, 42, 100, 0x42])
    assert [c[1] for c in rec.calls if c[0] == "trigger"] == [1, 2, 3]
    s = router.stats.snapshot()
    assert s["realtime"] == 1 and s["sysex"] == 1 and s["sysex_unterminated"] == 1
