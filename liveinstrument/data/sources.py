"""Where one-shots come from and what they are: Hydrogen kits, FluidR3 GM drums, user folders.

Each source yields :class:`SourceItem` rows (a file or a rendered sound plus its
provenance). Labels come from instrument names (:func:`label_from_name`); the
classifier later checks them and flags disagreements in the manifest.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio_io import AUDIO_SUFFIXES

HYDROGEN_DIRS = (Path("/usr/share/hydrogen/data/drumkits"),)
FLUID_SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

# DESIGN.md §3: these share recordings with an evaluation set outside the project.
EXCLUDED_KITS = ("The Black Pearl 1.0", "GMRockKit")
# The project's own unseen-kit test set (also CC-BY-SA, which conflicts with GPL-2 kits).
TEST_KITS = ("BJA_Pacific",)

# From the Debian packages' copyright files (more precise than drumkit.xml's <license>).
KIT_LICENCES = {
    "Audiophob": "CC0-1.0",
    "BJA_Pacific": "CC-BY-SA-3.0-US",
    "ColomboAcousticDrumkit": "GPL-2+ with composition exception",
    "ElectricEmpireKit": "GPL-2+",
    "ForzeeStereo": "GPL-2",
    "GMRockKit": "GPL-2+",
    "Gimme A Hand 1.0": "GPL-2",
    "HardElectro1": "GPL-2+",
    "Millo-Drums_v.1": "GPL-2",
    "Millo_MultiLayered2": "GPL-2",
    "Millo_MultiLayered3": "GPL-2",
    "TR808EmulationKit": "GPL-2+",
    "The Black Pearl 1.0": "GPL-2",
    "VariBreaks": "GPL-2+",
    "circAfrique v4": "CC-BY-SA-3.0",
    "rumpf_kit_z01_h2": "CC-BY-3.0",
}
KIT_PACKAGES = {"GMRockKit": "hydrogen-data", "TR808EmulationKit": "hydrogen-data"}

CLASSES = ("kick", "snare", "cymbal")


@dataclass
class SourceItem:
    """One candidate one-shot and where it came from."""
    path: str               # file path, or "sf2://<kit>/<note>/<velocity>" for rendered sounds
    package: str            # Debian package, or "user"
    kit: str
    instrument: str
    label: str              # kick / snare / cymbal / other / excluded-type (see label_from_name)
    licence: str
    audio: np.ndarray | None = field(default=None, repr=False)  # pre-rendered audio (sf2), else None
    rate: int | None = None


# ------------------------------------------------------------------ labelling
_NOT_ONE_SHOT = re.compile(r"\b(roll|swirl|swish|flam|loop|beat|fill|choke|stop)\b|\bsample:", re.I)
_CYMBAL = re.compile(r"hi[\s\-_]?hat|\bhh\b|\bhat\b|hats?\b|\bride\b|crash|splash|china|cymbal|"
                     r"\b[co]hh\b|\bphh\b|\bohh\b|\bchh\b|ride[\s\-_]?(bell|cup)|\bcup\b", re.I)
_KICK = re.compile(r"\bkick\b|kick|bass[\s\-_]?drum|bassdrum|\bbd\b|\bbd\d", re.I)
_SNARE = re.compile(r"snare|\bsd\b|\bsd\d|rim[\s\-_]?shot", re.I)
_OTHER = re.compile(r"\btom|stick|rim[\s\-_]?click|clap|snap|cowbell|conga|bongo|djembe|clave|"
                    r"shaker|maraca|tambourine|agogo|woodblock|cajon|whistle|zap|fx|click|"
                    r"perc|triangle|guiro|cabasa|timbale|vibraslap|waterglass|sangban|dununba|"
                    r"kenkeni", re.I)


def label_from_name(name: str) -> str:
    """Class from an instrument/file/folder name: kick, snare, cymbal, other or not-one-shot.

    Order matters: "Ride Bell" is a cymbal although it says bell, "Snare Rimshot"
    is a snare, "Tom" anything is other, "Snare Roll" is not a one-shot.
    """
    n = name.replace("_", " ")
    if _NOT_ONE_SHOT.search(n):
        return "not-one-shot"
    if re.search(r"\btom", n, re.I) or re.search(r"cowbell", n, re.I):
        return "other"
    if _KICK.search(n):
        return "kick"
    if _SNARE.search(n):
        return "snare"
    if _CYMBAL.search(n):
        return "cymbal"
    return "other"


# ------------------------------------------------------------------ Hydrogen kits
def _strip_ns(tag: str) -> str:
    return tag.split("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _strip_ns(c.tag) == name]


def _text(el: ET.Element, name: str) -> str:
    for c in el:
        if _strip_ns(c.tag) == name:
            return (c.text or "").strip()
    return ""


def parse_drumkit_xml(kit_dir: Path) -> tuple[str, list[tuple[str, str]]]:
    """(licence string, [(instrument name, sample filename), ...]) of a Hydrogen kit.

    Handles the three layouts in the wild: <filename> directly under
    <instrument> (old), <layer> under <instrument>, and
    <instrumentComponent><layer>.
    """
    root = ET.parse(kit_dir / "drumkit.xml").getroot()
    licence = _text(root, "license")
    out: list[tuple[str, str]] = []
    for inst in root.iter():
        if _strip_ns(inst.tag) != "instrument":
            continue
        name = _text(inst, "name")
        files = [_text(layer, "filename") for layer in inst.iter() if _strip_ns(layer.tag) == "layer"]
        if not files and _text(inst, "filename"):
            files = [_text(inst, "filename")]
        out.extend((name, f) for f in files if f)
    return licence, out


def hydrogen_items(dirs=HYDROGEN_DIRS) -> list[SourceItem]:
    """All layers of all instruments of all installed Hydrogen kits (test/excluded kits included)."""
    items: list[SourceItem] = []
    for base in dirs:
        if not base.is_dir():
            continue
        for kit_dir in sorted(p for p in base.iterdir() if (p / "drumkit.xml").exists()):
            kit = kit_dir.name
            try:
                xml_licence, layers = parse_drumkit_xml(kit_dir)
            except ET.ParseError as exc:
                items.append(SourceItem(str(kit_dir / "drumkit.xml"), "hydrogen", kit, "?",
                                        f"broken:{exc}", "?"))
                continue
            licence = KIT_LICENCES.get(kit, xml_licence or "unknown")
            package = KIT_PACKAGES.get(kit, "hydrogen-drumkits")
            for name, fname in layers:
                # The instrument name decides; a nameless instrument falls back to the file name.
                label = label_from_name(name) if name.strip() else label_from_name(Path(fname).stem)
                items.append(SourceItem(str(kit_dir / fname), package, kit, name or Path(fname).stem,
                                        label, licence))
    return items


# ------------------------------------------------------------------ FluidR3 GM drum kits
# General MIDI percussion key map -> class (notes 35..59 are the drum kit proper).
GM_DRUM_NOTES = {
    35: ("Acoustic Bass Drum", "kick"), 36: ("Bass Drum 1", "kick"), 37: ("Side Stick", "other"),
    38: ("Acoustic Snare", "snare"), 39: ("Hand Clap", "other"), 40: ("Electric Snare", "snare"),
    41: ("Low Floor Tom", "other"), 42: ("Closed Hi-Hat", "cymbal"), 43: ("High Floor Tom", "other"),
    44: ("Pedal Hi-Hat", "cymbal"), 45: ("Low Tom", "other"), 46: ("Open Hi-Hat", "cymbal"),
    47: ("Low-Mid Tom", "other"), 48: ("Hi-Mid Tom", "other"), 49: ("Crash Cymbal 1", "cymbal"),
    50: ("High Tom", "other"), 51: ("Ride Cymbal 1", "cymbal"), 52: ("Chinese Cymbal", "cymbal"),
    53: ("Ride Bell", "cymbal"), 54: ("Tambourine", "other"), 55: ("Splash Cymbal", "cymbal"),
    56: ("Cowbell", "other"), 57: ("Crash Cymbal 2", "cymbal"), 58: ("Vibraslap", "other"),
    59: ("Ride Cymbal 2", "cymbal"),
}
# Drum-kit presets of bank 128 in FluidR3_GM.
FLUID_KITS = {0: "Standard", 8: "Room", 16: "Power", 24: "Electronic", 25: "TR-808",
              32: "Jazz", 40: "Brush", 48: "Orchestra"}
FLUID_VELOCITIES = (50, 90, 127)
# Where a GS kit's sound is not the GM name (names that lie): the Orchestra set puts timpani
# on notes 41-53 (hats, crashes and rides in GM), the Brush set's note 40 is a brush swirl.
FLUID_OVERRIDES = {
    "Orchestra": {n: (f"Timpani ({GM_DRUM_NOTES[n][0]} note)", "other") for n in range(41, 54)},
    "Brush": {40: ("Brush Swirl", "not-one-shot")},
}


def fluid_items(sf2: Path = FLUID_SF2, kits=FLUID_KITS, velocities=FLUID_VELOCITIES,
                gap_s: float = 1.5) -> list[SourceItem]:
    """Render every GM drum note of each FluidR3 kit with fluidsynth (reverb and chorus off).

    One MIDI file per kit, notes ``gap_s`` apart, rendered once and cut at the
    known note times (fast, and no sample extraction quirks).
    """
    import mido
    import soundfile as sf

    if not sf2.exists() or not shutil.which("fluidsynth"):
        return []
    items: list[SourceItem] = []
    rate = 44_100
    with tempfile.TemporaryDirectory() as tmp:
        for program, kit_name in kits.items():
            mid = mido.MidiFile(ticks_per_beat=480)
            tr = mido.MidiTrack()
            mid.tracks.append(tr)
            tr.append(mido.MetaMessage("set_tempo", tempo=500_000))  # 1 beat = 0.5 s
            tr.append(mido.Message("control_change", channel=9, control=0, value=1))  # bank 128
            tr.append(mido.Message("program_change", channel=9, program=program))
            order = [(n, v) for n in GM_DRUM_NOTES for v in velocities]
            step = int(gap_s / 0.5 * 480)
            first = True
            for note, vel in order:
                tr.append(mido.Message("note_on", channel=9, note=note, velocity=vel, time=0 if first else step - 10))
                tr.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=10))
                first = False
            mid_path = Path(tmp) / f"kit{program}.mid"
            wav_path = Path(tmp) / f"kit{program}.wav"
            mid.save(mid_path)
            subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.8",
                            "-r", str(rate), "-F", str(wav_path), str(sf2), str(mid_path)],
                           check=True, capture_output=True, timeout=600)
            audio, sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
            mono = audio.mean(axis=1)
            hop = int(gap_s * sr)
            for i, (note, vel) in enumerate(order):
                seg = mono[i * hop:(i + 1) * hop]
                name, label = FLUID_OVERRIDES.get(kit_name, {}).get(note, GM_DRUM_NOTES[note])
                items.append(SourceItem(f"sf2://FluidR3_GM/{kit_name}/{note}/{vel}", "fluid-soundfont-gm",
                                        f"FluidR3 {kit_name}", name, label, "MIT",
                                        audio=seg.copy(), rate=sr))
    return items


# ------------------------------------------------------------------ user folders
def folder_items(root: str | Path, licence: str = "user-supplied") -> list[SourceItem]:
    """Every audio file under ``root``; the label comes from the nearest folder or file name
    that names a class (e.g. ``MyLib/Kicks/k1.wav`` -> kick; ``MyLib/Toms/t1.wav`` -> other),
    else ``unlabelled`` (the classifier labels those). The kit is the first folder level below ``root``."""
    root = Path(root)
    items: list[SourceItem] = []
    for p in sorted(q for q in root.rglob("*") if q.suffix.lower() in AUDIO_SUFFIXES):
        rel = p.relative_to(root)
        label = "unlabelled"
        for part in [p.stem, *reversed(rel.parts[:-1])]:
            guess = label_from_name(part)
            # "other" is also label_from_name's fallback: take it only when the name says so
            # (Toms/, Percussion/, cowbell.wav), so toms are kept apart rather than unlabelled.
            if guess in CLASSES or guess == "not-one-shot" or (
                    guess == "other" and _OTHER.search(part.replace("_", " "))):
                label = guess
                break
        kit = rel.parts[0] if len(rel.parts) > 1 else root.name
        items.append(SourceItem(str(p), "user", f"user:{kit}", p.stem, label, licence))
    return items
