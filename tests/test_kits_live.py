"""Kits live: save, save-as, load, next/previous, undo, from OSC over real UDP, from a mapped
MIDI action through a real JACK MIDI port, and from status-view keys through a real pty; all on
the real Instrument (renderer process, untrained generator). Kit files survive a SIGKILL in the
middle of a save."""
from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from pythonosc.udp_client import SimpleUDPClient

from conftest import wait_until
from liveinstrument import paths
from liveinstrument.engine.state import load_kit


@pytest.fixture(scope="module")
def inst(live_inst):
    return live_inst


@pytest.fixture(scope="module")
def osc(inst):
    from liveinstrument.control.surfaces import ControlSurfaces
    with ControlSurfaces(inst, "gm-default", midi_in=None, osc_port=0) as cs:
        yield SimpleUDPClient(*cs.osc.address), cs


def _z(inst, pad: int) -> np.ndarray:
    return inst.pads[pad - 1].z_center.copy()


def test_osc_save_load_next_prev_and_undo(inst, osc, home: Path) -> None:
    client, cs = osc
    inst.set_param(1, "kick", 0.25)
    client.send_message("/drumgan/kit/save", "groove a")
    assert wait_until(lambda: inst.kits.saves == 1 and not inst.kit_info()["busy"])
    a = home / "kits" / "groove a" / "kit.yaml"
    assert a.is_file() and inst.kit_info()["name"] == "groove a"
    pads, _, raw, _ = load_kit(a)
    assert pads[0].kick == 0.25 and len(raw) == 4          # the pads' sounds saved with it

    inst.set_param(1, "kick", 0.75)
    client.send_message("/drumgan/kit/save", "groove b")
    assert wait_until(lambda: inst.kits.saves == 2 and not inst.kit_info()["busy"])

    client.send_message("/drumgan/kit/load", "groove a")
    assert wait_until(lambda: inst.kits.loads == 1 and inst.pads[0].kick == 0.25)
    assert inst.kit_info()["name"] == "groove a"
    client.send_message("/drumgan/kit/next", [])                # browse order: user kits, then shipped
    assert wait_until(lambda: inst.kits.loads == 2 and inst.pads[0].kick == 0.75)
    assert inst.kit_info()["name"] == "groove b"
    client.send_message("/drumgan/kit/prev", [])
    assert wait_until(lambda: inst.kits.loads == 3 and inst.pads[0].kick == 0.25)

    # save with no name overwrites the current kit, atomically: only the new audio files remain
    inst.set_param(2, "decay", 0.5)
    client.send_message("/drumgan/kit/save", [])
    assert wait_until(lambda: inst.kits.saves == 3 and not inst.kit_info()["busy"])
    assert load_kit(a)[0][1].decay == 0.5
    referenced = {p.split("/")[-1] for p in a.read_text().split() if p.endswith(".wav")}
    assert {f.name for f in (a.parent / "kit_audio").iterdir()} == referenced

    before = _z(inst, 2)
    client.send_message("/drumgan/pad/2/generate", [])
    assert wait_until(lambda: not np.array_equal(_z(inst, 2), before))
    client.send_message("/drumgan/undo", [])
    assert wait_until(lambda: np.array_equal(_z(inst, 2), before)), "undo did not bring the sound back"
    assert inst.wait_ready(30.0)


def test_kit_names_from_senders_stay_in_the_kit_dir(inst, osc, home: Path) -> None:
    client, cs = osc
    bad0 = cs.osc.stats["bad_value"]
    for name in ("../escape", "/tmp/evil", "a/b", ".."):
        client.send_message("/drumgan/kit/save", name)
        client.send_message("/drumgan/kit/load", name)
    assert wait_until(lambda: cs.osc.stats["bad_value"] == bad0 + 8)
    assert not (home / "escape").exists() and not Path("/tmp/evil").exists()
    assert not any(p.name in ("escape", "evil", "b") for p in home.rglob("*"))


def test_mapped_midi_actions_through_a_real_jack_port(inst, home: Path, tmp_path: Path, jack_server) -> None:
    import rtmidi
    from liveinstrument.control.surfaces import ControlSurfaces
    mapping = tmp_path / "kit-buttons.yaml"
    mapping.write_text(textwrap.dedent("""\
        name: kit buttons
        midi:
          notes:
            36: {trigger: 1}
            90: {action: kit_save_as}
            91: {action: kit_next}
          cc:
            20: {action: undo}
        """))
    client = f"drumgan-{uuid.uuid4().hex[:6]}"
    sender = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"sender-{uuid.uuid4().hex[:6]}")
    try:
        with ControlSurfaces(inst, mapping, midi_in="virtual", midi_api="jack", osc_port=None,
                             client_name=client, jack_server=jack_server.name):
            ports = sender.get_ports()
            sender.open_port(next(i for i, p in enumerate(ports) if f"{client}:midi_in" in p))
            time.sleep(0.1)
            saves = inst.kits.saves
            sender.send_message([0x90, 90, 100])                 # save as a new dated kit
            assert wait_until(lambda: inst.kits.saves == saves + 1 and not inst.kit_info()["busy"])
            dated = inst.kit_info()["name"]
            assert dated.startswith("kit ") and (home / "kits" / dated / "kit.yaml").is_file()
            loads = inst.kits.loads
            sender.send_message([0x90, 91, 100])                 # next kit
            assert wait_until(lambda: inst.kits.loads == loads + 1)
            assert inst.kit_info()["name"] != dated
            inst.kits.wait_idle()
            before = _z(inst, 3)
            inst.action(3, "generate")
            sender.send_message([0xB0, 20, 127])                 # a button on CC 20: undo
            assert wait_until(lambda: np.array_equal(_z(inst, 3), before))
    finally:
        sender.close_port()
        sender.delete()


def test_status_view_keys_through_a_pty(inst, home: Path) -> None:
    from liveinstrument.engine.status_keys import KeyReader
    master, slave = pty.openpty()
    try:
        with KeyReader(inst, fd=slave) as keys:
            assert keys.active
            saves = inst.kits.saves
            os.write(master, b"a")                              # save as new
            assert wait_until(lambda: inst.kits.saves == saves + 1 and not inst.kit_info()["busy"])
            before = _z(inst, 4)
            inst.action(4, "generate")
            os.write(master, b"u")
            assert wait_until(lambda: np.array_equal(_z(inst, 4), before))
            loads = inst.kits.loads
            os.write(master, b"n")
            assert wait_until(lambda: inst.kits.loads == loads + 1)
            os.write(master, b"q")
            assert wait_until(keys.quit.is_set, 2.0)
    finally:
        os.close(master)
        os.close(slave)


_SAVER = textwrap.dedent("""\
    import sys, numpy as np
    from liveinstrument.engine.state import default_kit, save_kit
    path = sys.argv[1]
    pads = default_kit(16, 0)
    rng = np.random.default_rng(0)
    raw = {i: rng.standard_normal((8, 24255)).astype(np.float32) for i in range(16)}
    k = 0
    print("ready", flush=True)
    while True:                       # alternate two versions as fast as it can
        k += 1
        for p in pads:
            p.gain = 0.2 if k % 2 else 0.6
        for a in raw.values():
            a[0, 0] = k
        save_kit(path, pads, "m", raw)
    """)


def test_a_crash_mid_save_leaves_a_whole_kit(tmp_path: Path) -> None:
    """SIGKILL a process that keeps re-saving a 16-pad kit (12 MB of audio) at random moments:
    the kit on disk always loads, every pad's audio matches the version its YAML says."""
    path = tmp_path / "crash" / "kit.yaml"
    rng = np.random.default_rng(1)
    env = {**os.environ, "PYTHONPATH": str(Path(paths.__file__).parents[1])}
    for trial in range(4):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE, env=env)
        try:
            assert proc.stdout.readline().strip() == b"ready"
            if trial == 0 or not path.exists():
                wait_until(path.exists, 30.0)
            time.sleep(float(rng.uniform(0.05, 1.5)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        pads, _, raw, _ = load_kit(path)
        gains = {p.gain for p in pads}
        assert len(gains) == 1, f"a mix of two saves: gains {gains}"
        marks = {float(a[0, 0]) for a in raw.values()}
        assert len(raw) == 16 and len(marks) == 1, f"audio from different saves: {marks}"
        k = marks.pop()
        assert gains.pop() == pytest.approx(0.2 if k % 2 else 0.6)
