"""The Pure Data patch mappings/drumgan.pd driving the real Instrument over real UDP: real
``pd`` (headless) sends through [oscformat] + [netsend -u -b] to the in-process OSC server; its
``drumgan-test`` receiver clicks the patch's own pads, sliders and generate button."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import wait_until

PATCH = Path(__file__).resolve().parents[1] / "mappings" / "drumgan.pd"
pytestmark = pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data (pd) is not installed")


@pytest.fixture(scope="module")
def inst(live_inst):
    return live_inst


def test_patch_plays_pads_sets_sliders_and_generates(inst) -> None:
    from liveinstrument.control.surfaces import ControlSurfaces
    hits: list[tuple[int, float]] = []
    inst.subscribe_hits(lambda pad, vel: hits.append((pad, vel)))
    kick0, snare0 = inst.pads[0].kick, inst.pads[2].snare
    z3, z1 = inst.pads[2].z_center.copy(), inst.pads[0].z_center.copy()
    with ControlSurfaces(inst, "gm-default", midi_in=None, osc_port=0) as cs:
        port = cs.osc.address[1]
        msgs = [f"port {port}", "velocity 0.5", "pad 2", "pad 1", "kick 0.7",
                "select 3", "snare 0.25", "generate"]
        proc = subprocess.Popen(
            ["pd", "-nogui", "-noaudio", "-nomidi", "-stderr", "-open", str(PATCH),
             "-send", "; ".join(f"drumgan-test {m}" for m in msgs)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            ok = wait_until(lambda: inst.pads[2].snare == pytest.approx(0.25)
                       and not (inst.pads[2].z_center == z3).all(), 15.0)
        finally:
            proc.kill()
            out = proc.communicate(timeout=5)[0]
    assert ok, f"the patch's messages did not all arrive; pd said:\n{out}"
    assert [p for p, _ in hits] == [2, 1] and all(v == pytest.approx(0.5) for _, v in hits)
    assert inst.pads[0].kick == pytest.approx(0.7) != kick0  # pad 1 was selected by playing it
    assert snare0 != pytest.approx(0.25)
    assert (inst.pads[0].z_center == z1).all()           # generate went to the selected pad only
    assert "error" not in out.lower(), out
