"""MIDI by default, through real JACK MIDI ports on a real jackd dummy server (conftest).

A "controller" is a JACK client with a *physical* MIDI output port, as jackd's ALSA MIDI
bridge or a2jmidid present a USB pad controller (no real USB device here: the port flags
are what the instrument sees, and they are real). ALSA sequencer auto-connect needs
/dev/snd/seq, absent on this machine: only its /proc parser is checked, on a sample.
"""
from __future__ import annotations

import collections
import hashlib
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from conftest import wait_until
from liveinstrument import paths
from liveinstrument.control.mapping import load_mapping
from liveinstrument.control.midi_ports import alsa_hardware_clients, alsa_port_client
from liveinstrument.control.recording import RecordingControls
from liveinstrument.control.surfaces import ControlSurfaces

pytestmark = pytest.mark.jack


class Controller:
    """A JACK client with one physical MIDI output: what a plugged-in pad controller looks like."""

    def __init__(self, server: str, name: str):
        import jack
        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.port = self.client.midi_outports.register("out", is_physical=True)
        self.pending: collections.deque[bytes] = collections.deque()
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        self.port.clear_buffer()
        while self.pending:
            self.port.write_midi_event(0, self.pending.popleft())

    def send(self, *msg: int) -> None:
        self.pending.append(bytes(msg))

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()




def test_controller_plugged_in_after_start_is_connected_and_heard(jack_server) -> None:
    from liveinstrument.engine.audio_out import AudioOut
    from liveinstrument.engine.instrument import Instrument
    from test_engine_jack import Recorder

    client = f"drumgan-{uuid.uuid4().hex[:6]}"
    with Instrument(n_pads=4, random_model=0, seed=1) as inst:
        assert inst.wait_ready(60.0)
        out = AudioOut(inst, blocksize=128)
        out.start()
        cs = ControlSurfaces(inst, "gm-default", midi_in="auto", midi_api="jack", osc_port=None,
                             client_name=client, jack_server=jack_server.name).start()
        rec = Recorder(jack_server.name, 3.0, jack_server.rate)
        pad = None
        try:
            assert cs.autoconnect is not None and cs.midi_problem is None
            assert cs.connected_midi_ports() == []
            rec.connect_to()
            rec.recording.set()
            time.sleep(0.3)
            pad = Controller(jack_server.name, f"nanopad-{uuid.uuid4().hex[:4]}")   # plugged in now
            assert wait_until(lambda: f"{pad.client.name}:out" in cs.connected_midi_ports(), 5.0), cs.describe()
            assert any(f"{pad.client.name}:out" in line for line in cs.describe())
            hits0 = inst.mixer.hits
            pad.send(0x99, 36, 127)                         # GM kick on channel 10 -> pad 1
            assert wait_until(lambda: inst.mixer.hits > hits0, 3.0), "note from the new controller not played"
            time.sleep(0.5)
            rec.recording.clear()
            x = rec.buf[:rec.n]
            assert np.max(np.abs(x)) > 0.01, "the hit was not heard on the JACK output"
            assert cs.stats()["midi"]["note_on"] == 1
            pad.close()                                     # unplugged: the list follows
            pad = None
            cs.autoconnect.rescan()
            assert wait_until(lambda: cs.connected_midi_ports() == [], 5.0)
        finally:
            if pad is not None:
                pad.close()
            rec.close()
            cs.stop()
            out.stop()


def test_midi_in_none_turns_midi_off(jack_server) -> None:
    import argparse
    from liveinstrument.control.surfaces import add_control_arguments
    p = argparse.ArgumentParser()
    add_control_arguments(p)
    cs = ControlSurfaces.from_args(RecordingControls(), p.parse_args(["--midi-in", "none", "--osc-port", "-1"]))
    assert cs.midi_inputs == [] and not cs.auto_midi
    default = ControlSurfaces.from_args(RecordingControls(), p.parse_args(["--osc-port", "-1"]))
    assert default.auto_midi and len(default.midi_inputs) == 1


def test_auto_midi_without_any_midi_system_is_one_line_and_osc_still_runs(monkeypatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"no-such-server-{uuid.uuid4().hex[:6]}")
    cs = ControlSurfaces(RecordingControls(), "gm-default", midi_in="auto", midi_api="jack", osc_port=0).start()
    try:
        assert cs.midi_problem and "\n" not in cs.midi_problem and "JACK" in cs.midi_problem
        assert cs.osc is not None and cs.osc.address[1] > 0
    finally:
        cs.stop()


def test_learn_on_a_shipped_mapping_writes_the_users_copy(jack_server, tmp_path: Path, monkeypatch) -> None:
    import rtmidi
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    shipped = paths.shipped_mappings_dir() / "gm-default.yaml"
    before = hashlib.sha256(shipped.read_bytes()).hexdigest()
    rec = RecordingControls()
    client = f"drumgan-{uuid.uuid4().hex[:6]}"
    sender = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"sender-{uuid.uuid4().hex[:6]}")
    try:
        with ControlSurfaces(rec, "gm-default", midi_in="virtual", midi_api="jack", osc_port=None,
                             client_name=client, jack_server=jack_server.name) as cs:
            ports = sender.get_ports()
            sender.open_port(next(i for i, p in enumerate(ports) if f"{client}:midi_in" in p))
            time.sleep(0.1)
            cs.arm_learn("pad/3/tune")
            sender.send_message([0xB0, 77, 5])
            assert wait_until(lambda: cs.learn.last is not None, 5.0)
            assert cs.learn.save_error is None
    finally:
        sender.close_port()
        sender.delete()
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == before, "the shipped mapping was written"
    user = tmp_path / "mappings" / "gm-default.yaml"
    assert user.is_file()
    m = load_mapping("gm-default")          # next session: the user's copy wins, learned binding kept
    assert m.source == user and 77 in m.learned_cc
    assert "# " in user.read_text()         # a copy of the shipped file: its comments survive


def test_alsa_hardware_clients_parsed_from_proc_text() -> None:
    text = ('Client   0 : "System" [Kernel]\n  Port   0 : "Timer" (R-e-)\n'
            'Client  14 : "Midi Through" [Kernel]\n'
            'Client  20 : "nanoPAD2" [Kernel]\n  Port   0 : "nanoPAD2 MIDI 1" (RWeX)\n'
            'Client 128 : "qsynth" [User]\n')
    assert alsa_hardware_clients(text) == {20: "nanoPAD2"}
    assert alsa_port_client("nanoPAD2:nanoPAD2 MIDI 1 20:0") == 20
    assert alsa_port_client("no address") is None
