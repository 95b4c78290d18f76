"""Hydrogen drumkit export: ``drumkit.xml`` (Hydrogen 1.2 format, its XSD) plus samples.

One instrument per pad, ``midiOutNote`` = the pad's GM note, choke groups as mute
groups. Each velocity layer's round-robin takes are layers with the same velocity
range; ``sampleSelectionAlgo ROUND_ROBIN`` makes Hydrogen cycle through them.
Velocity is baked into the takes, so ``applyVelocity`` is off.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .render import PadSamples, write_takes

NAMESPACE = "http://www.hydrogen-music.org/drumkit"
MAX_LAYERS = 16          # Hydrogen's layers per instrument component


def _sub(parent: ET.Element, tag: str, text) -> ET.Element:
    e = ET.SubElement(parent, tag)
    e.text = str(text)
    return e


def _f(x: float) -> str:
    return f"{x:.6g}"


def drumkit_xml(pads: list[PadSamples], names: dict[tuple[int, int, int], str], kit_name: str,
                header: dict) -> ET.ElementTree:
    """The drumkit.xml tree for ``pads`` whose takes are written as ``names``."""
    root = ET.Element("drumkit_info", {"xmlns": NAMESPACE})
    _sub(root, "name", kit_name)
    _sub(root, "author", "DrumGAN Live")
    _sub(root, "info", f"Neural drum kit exported by drumgan kit export (model {header.get('model_hash', '?')}).")
    _sub(root, "license", "")
    _sub(root, "image", "")
    _sub(root, "imageLicense", "")
    comp = ET.SubElement(ET.SubElement(root, "componentList"), "drumkitComponent")
    _sub(comp, "id", 0), _sub(comp, "name", "Main"), _sub(comp, "volume", 1)
    ilist = ET.SubElement(root, "instrumentList")
    for i, ps in enumerate(pads):
        takes = max(len(layer.takes) for layer in ps.layers)
        ins = ET.SubElement(ilist, "instrument")
        for tag, val in (("id", i), ("name", ps.name), ("volume", 1), ("isMuted", "false"),
                         ("isSoloed", "false"), ("pan", 0), ("pitchOffset", 0), ("randomPitchFactor", 0),
                         ("gain", 1), ("applyVelocity", "false"), ("filterActive", "false"),
                         ("filterCutoff", 1), ("filterResonance", 0), ("Attack", 0), ("Decay", 0),
                         ("Sustain", 1), ("Release", 1000), ("muteGroup", ps.choke - 1 if ps.choke else -1),
                         ("midiOutChannel", -1), ("midiOutNote", ps.note), ("isStopNote", "false"),
                         ("sampleSelectionAlgo", "ROUND_ROBIN" if takes > 1 else "VELOCITY"),
                         ("isHihat", -1), ("lower_cc", 0), ("higher_cc", 127)):
            _sub(ins, tag, val)
        ic = ET.SubElement(ins, "instrumentComponent")
        _sub(ic, "component_id", 0), _sub(ic, "gain", 1)
        for li, layer in enumerate(ps.layers):
            lo = 0.0 if li == 0 else layer.lo / 127.0
            for ti in range(len(layer.takes)):
                el = ET.SubElement(ic, "layer")
                _sub(el, "filename", names[(ps.pad, li, ti)])
                _sub(el, "min", _f(lo)), _sub(el, "max", _f(layer.hi / 127.0))
                _sub(el, "gain", 1), _sub(el, "pitch", 0)
    ET.indent(root, " ")
    return ET.ElementTree(root)


def fit_layers(n_layers: int, variations: int) -> tuple[int, int]:
    """Velocity layers x takes that fit Hydrogen's 16 layers per instrument (takes give way first)."""
    n_layers = max(1, min(n_layers, MAX_LAYERS))
    return n_layers, max(1, min(variations, MAX_LAYERS // n_layers))


def export_hydrogen(pads: list[PadSamples], out_dir: str | Path, kit_name: str, header: dict) -> Path:
    """Write ``OUT/drumkit.xml`` with the samples beside it (Hydrogen's layout); returns its path."""
    out = Path(out_dir)
    names = write_takes(pads, out, int(header["sample_rate"]))
    path = out / "drumkit.xml"
    drumkit_xml(pads, names, kit_name, header).write(path, encoding="UTF-8", xml_declaration=True)
    return path
