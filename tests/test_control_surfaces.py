"""ControlSurfaces wiring: argparse options, start/stop, failures leave nothing open.

Real UDP sockets; a RecordingControls implementation of InstrumentControls stands in for
the engine (another unit). MIDI through JACK is covered in test_control_midi.py.
"""
from __future__ import annotations

import argparse
import socket

import pytest
from pythonosc.udp_client import SimpleUDPClient

from liveinstrument.control.mapping import MappingError
from liveinstrument.control.midi_in import MidiPortError
from liveinstrument.control.recording import RecordingControls
from liveinstrument.control.surfaces import ControlSurfaces, add_control_arguments


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_control_arguments(p)
    return p.parse_args(argv)


def test_cli_options_build_surfaces() -> None:
    args = parse(["--osc-port", "0", "--mapping", "generic-16pad", "--osc-allow", "127.0.0.1"])
    assert args.midi_in is None and args.osc_host == "127.0.0.1"
    rec = RecordingControls()
    with ControlSurfaces.from_args(rec, args) as cs:
        assert cs.mapping.name == "Generic 16-pad controller" and cs.midi_inputs == []
        assert any(line.startswith("OSC: 127.0.0.1:") for line in cs.describe())
        SimpleUDPClient(*cs.osc.address).send_message("/drumgan/pad/2/trigger", 0.5)
        assert rec.wait_calls(1) == [("trigger", 2, 0.5)]
    assert parse(["--osc-port", "-1"]).osc_port == -1  # -1 = no OSC


def test_bad_mapping_fails_before_anything_opens() -> None:
    with pytest.raises(MappingError, match="not found"):
        ControlSurfaces(RecordingControls(), "nope.yaml")


def test_start_failure_closes_what_was_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        cs = ControlSurfaces(RecordingControls(), osc_port=busy.getsockname()[1])
        with pytest.raises(OSError):
            cs.start()
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "surely-not-running")
    cs = ControlSurfaces(RecordingControls(), midi_in="virtual", midi_api="jack", osc_port=0)
    with pytest.raises(MidiPortError):
        cs.start()
    assert cs.osc._server is None  # OSC never started / was stopped


def test_start_controls_one_call_form_and_note_to_pad() -> None:
    from liveinstrument.control import start_controls
    from liveinstrument.control.mapping import note_to_pad
    rec = RecordingControls()
    cs = start_controls(rec, midi_in=None, osc_host="127.0.0.1", osc_port=0, mapping=None)
    try:
        SimpleUDPClient(*cs.osc.address).send_message("/drumgan/pad/1/generate", 1.0)
        assert rec.wait_calls(1) == [("action", 1, "generate")]
    finally:
        cs.close()
    gm = note_to_pad("gm-default")
    assert gm[36] == 1 and gm[38] == 2 and gm[44] == 3 and 96 not in gm  # 96 is an action
    assert note_to_pad("generic-16pad") == {36 + i: i + 1 for i in range(16)}
