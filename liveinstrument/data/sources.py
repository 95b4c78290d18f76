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
LMMS_DRUMS = Path("/usr/share/lmms/samples/drums")
SONIC_PI_SAMPLES = Path("/usr/share/sonic-pi/samples")
SONIC_PI_COPYRIGHT = Path("/usr/share/doc/sonic-pi-samples/copyright")

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
_CYMBAL = re.compile(r"hi[\s\-_]?hat|\bhh\b|\bhat\b|hats?\b|\bride(?:\b|\d)|crash|splash|china|cymbal|"
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


@dataclass(frozen=True)
class SoundFontSource:
    """A General MIDI soundfont whose drum kits (bank 128) are rendered note by note."""
    path: Path
    package: str
    name: str      # kit names are "<name> <preset name>"
    licence: str
    kits: dict     # program -> preset name


# Other GM soundfonts in Debian (#14). Their kit presets use the same GS layout as FluidR3's
# (fluidsynth's "inst 1"), so FLUID_OVERRIDES' timpani and swirl apply to them too. MuseScore
# General is derived from FluidR3 Mono: many of its drums are FluidR3's and the near-duplicate
# check drops them (the manifest says which).
SOUNDFONTS = (
    SoundFontSource(FLUID_SF2, "fluid-soundfont-gm", "FluidR3", "MIT", FLUID_KITS),
    SoundFontSource(Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), "timgm6mb-soundfont", "TimGM6mb",
                    "GPL-2", FLUID_KITS),
    SoundFontSource(Path("/usr/share/sounds/sf3/MuseScore_General_Full.sf3"), "musescore-general-soundfont",
                    "MuseScoreGeneral", "MIT (parts CC0/PD)", FLUID_KITS),
)


def fluid_items(sf2: Path = FLUID_SF2, kits=FLUID_KITS, velocities=FLUID_VELOCITIES,
                gap_s: float = 1.5) -> list[SourceItem]:
    """FluidR3's GM drum kits, rendered note by note (see :func:`soundfont_items`)."""
    return soundfont_items(SoundFontSource(sf2, "fluid-soundfont-gm", "FluidR3", "MIT", kits),
                           velocities, gap_s)


def soundfont_items(src: SoundFontSource, velocities=FLUID_VELOCITIES, gap_s: float = 1.5) -> list[SourceItem]:
    """Render every GM drum note of each kit of a soundfont with fluidsynth (reverb and chorus off).

    One MIDI file per kit, notes ``gap_s`` apart, rendered once and cut at the
    known note times (fast, and no sample extraction quirks).
    """
    import mido
    import soundfile as sf

    if not src.path.exists() or not shutil.which("fluidsynth"):
        return []
    items: list[SourceItem] = []
    rate = 44_100
    with tempfile.TemporaryDirectory() as tmp:
        for program, kit_name in src.kits.items():
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
                            "-r", str(rate), "-F", str(wav_path), str(src.path), str(mid_path)],
                           check=True, capture_output=True, timeout=600)
            audio, sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
            mono = audio.mean(axis=1)
            hop = int(gap_s * sr)
            for i, (note, vel) in enumerate(order):
                seg = mono[i * hop:(i + 1) * hop]
                name, label = FLUID_OVERRIDES.get(kit_name, {}).get(note, GM_DRUM_NOTES[note])
                items.append(SourceItem(f"sf2://{src.path.stem}/{kit_name}/{note}/{vel}", src.package,
                                        f"{src.name} {kit_name}", name, label, src.licence,
                                        audio=seg.copy(), rate=sr))
    return items


# ------------------------------------------------------------------ sample folders of other packages
def lmms_items(root: Path = LMMS_DRUMS) -> list[SourceItem]:
    """LMMS's drum one-shots (lmms-common, GPL-2+ per its copyright file's ``Files: *``);
    labels from the file names (bassdrum*, kick*, snare*, hihat_*, crash*, ride*; toms,
    claps, shakers, zaps are ``other``)."""
    if not root.is_dir():
        return []
    return [SourceItem(str(p), "lmms-common", "LMMS drums", p.stem, label_from_name(p.stem), "GPL-2+")
            for p in sorted(root.glob("*.ogg"))]


# Sonic Pi's drum samples, labelled by hand from their names (the names' abbreviations, bd_ and
# sn_, and "drum_bass_*" word order are not what label_from_name reads). Everything else in the
# folder (ambient pads, loops, bleeps, tabla) is not a drum one-shot and is not a candidate.
SONIC_PI_LABELS = {
    **{n: "kick" for n in ("bd_808", "bd_ada", "bd_boom", "bd_fat", "bd_gas", "bd_haus", "bd_klub",
                           "bd_mehackit", "bd_pure", "bd_sone", "bd_tek", "bd_zome", "bd_zum",
                           "drum_bass_hard", "drum_bass_soft", "drum_heavy_kick", "elec_hollow_kick",
                           "elec_soft_kick")},
    **{n: "snare" for n in ("sn_dolf", "sn_dub", "sn_generic", "sn_zome", "drum_snare_hard",
                            "drum_snare_soft", "elec_filt_snare", "elec_hi_snare", "elec_lo_snare",
                            "elec_mid_snare", "elec_snare")},
    **{n: "cymbal" for n in ("drum_cymbal_closed", "drum_cymbal_hard", "drum_cymbal_open",
                             "drum_cymbal_pedal", "drum_cymbal_soft", "drum_splash_hard",
                             "drum_splash_soft", "elec_cymbal")},
    **{n: "other" for n in ("drum_cowbell", "drum_tom_hi_hard", "drum_tom_hi_soft", "drum_tom_lo_hard",
                            "drum_tom_lo_soft", "drum_tom_mid_hard", "drum_tom_mid_soft", "elec_fuzz_tom",
                            "elec_triangle", "elec_wood", "elec_tick")},
    "drum_roll": "not-one-shot",
}


def sonic_pi_licences(copyright_file: Path = SONIC_PI_COPYRIGHT) -> dict[str, str]:
    """Per-sample licence from the Debian copyright file's ``Files: etc/samples/X.flac`` stanzas."""
    out: dict[str, str] = {}
    if not copyright_file.exists():
        return out
    for stanza in copyright_file.read_text(errors="replace").split("\n\n"):
        files = re.search(r"^Files:\s*(.*(?:\n\s+.*)*)", stanza, re.M)
        lic = re.search(r"^License:\s*(\S.*)", stanza, re.M)
        if files and lic:
            for f in files.group(1).split():
                if f.startswith("etc/samples/"):
                    out[Path(f).stem] = lic.group(1).strip()
    return out


def sonic_pi_items(root: Path = SONIC_PI_SAMPLES) -> list[SourceItem]:
    """Sonic Pi's kicks, snares, cymbals (and toms/percussion as ``other``), sonic-pi-samples."""
    if not root.is_dir():
        return []
    licences = sonic_pi_licences()
    items = []
    for stem, label in sorted(SONIC_PI_LABELS.items()):
        p = root / f"{stem}.flac"
        if p.exists():
            # Samples without a stanza of their own fall under the package's "Files: *" (MIT).
            items.append(SourceItem(str(p), "sonic-pi-samples", "Sonic Pi", stem, label,
                                    licences.get(stem, "MIT")))
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
