"""Bad kit files: each problem is one line naming the pad and the field, before any slow work;
NaN is rejected, out-of-range values are clamped with a warning, the pad count is bounded, and
a kit's audio paths stay inside its folder. Through `load_kit` and the real `drumgan render`."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from liveinstrument.engine.state import MAX_KIT_PADS, default_kit, load_kit, save_kit


@pytest.fixture
def kit_doc(tmp_path: Path) -> tuple[Path, dict]:
    kit = save_kit(tmp_path / "k" / "kit.yaml", default_kit(2, 0), "m", {})
    return kit, yaml.safe_load(kit.read_text())


def _write(kit: Path, doc: dict) -> Path:
    kit.write_text(yaml.safe_dump(doc, sort_keys=False))
    return kit


@pytest.mark.parametrize("field,value,expect", [
    ("gain", "loud", "pad 2 (snare): 'gain' must be a number, got 'loud'"),
    ("gain", float("nan"), "pad 2 (snare): 'gain' is nan"),
    ("note", float("inf"), "pad 2 (snare): 'note' is inf"),
    ("z_center", [1.0, 2.0], "pad 2 (snare): 'z_center' has 2 values"),
    ("z_center", "abc", "pad 2 (snare): 'z_center' must be a list"),
    ("audio", "../../../../etc/passwd", "pad 2 (snare): audio path '../../../../etc/passwd' leaves the kit's folder"),
])
def test_bad_field_is_one_line_naming_pad_and_field(kit_doc, field, value, expect) -> None:
    kit, doc = kit_doc
    doc["pads"][1]["name"] = "snare"
    doc["pads"][1][field] = value
    with pytest.raises(ValueError) as e:
        load_kit(_write(kit, doc))
    assert expect in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_out_of_range_is_clamped_with_a_warning(kit_doc, caplog) -> None:
    kit, doc = kit_doc
    doc["pads"][0]["tune"] = 7.5
    doc["pads"][0]["note"] = 300
    with caplog.at_level(logging.WARNING):
        pads = load_kit(_write(kit, doc))[0]
    assert pads[0].tune == 1.0 and pads[0].note == 127
    assert sum("clamped" in r.getMessage() for r in caplog.records) == 2


def test_missing_field_keeps_its_default(kit_doc) -> None:
    kit, doc = kit_doc
    del doc["pads"][0]["decay"]
    assert load_kit(_write(kit, doc))[0][0].decay == 1.0


@pytest.mark.parametrize("text,expect", [
    ("pads: [\n  {name: a, gain: 0.5\n", "not valid YAML at line"),
    ("just a string\n", "not a DrumGAN kit file"),
    ("pads:\n  - 5\n", "pad 1: expected a mapping of fields, got int"),
    ("pads: []\n", f"a kit has 1 to {MAX_KIT_PADS} pads, this one 0"),
    ("pads:\n" + "  - {name: p}\n" * (MAX_KIT_PADS + 72), f"this one {MAX_KIT_PADS + 72}"),
])
def test_broken_documents_are_one_line(tmp_path: Path, text: str, expect: str) -> None:
    kit = tmp_path / "kit.yaml"
    kit.write_text(text)
    with pytest.raises(ValueError) as e:
        load_kit(kit)
    assert expect in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_drumgan_render_names_the_bad_field_in_one_line_before_building(kit_doc, tmp_path: Path) -> None:
    kit, doc = kit_doc
    doc["pads"][0]["gain"] = "loud"
    _write(kit, doc)
    import mido
    mid = mido.MidiFile()
    tr = mido.MidiTrack()
    tr.append(mido.Message("note_on", note=36, velocity=100, time=0))
    mid.tracks.append(tr)
    mid.save(str(tmp_path / "x.mid"))
    out = tmp_path / "x.wav"
    r = subprocess.run([sys.executable, "-m", "liveinstrument.cli", "render", str(tmp_path / "x.mid"),
                        "--out", str(out), "--kit", str(kit)], capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode != 0 and not out.exists()
    assert len(lines) == 1 and "pad 1" in lines[0] and "'gain' must be a number" in lines[0], r.stderr
