"""`drumgan kit export` loaded by the real consumers: Hydrogen's own h2cli (XSD check and a
song rendered headless), sfzlint (a real SFZ parser, every sample path resolving) and
sfizz (pysfizz: the sfizz library playing the SFZ, round-robin and velocity layers).

The kit is the engine's default kit (4 pads: kick, snare, closed hat, open hat choked by
the closed hat) on the shipped models, saved with the instrument's own ``save_kit``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from liveinstrument.cli import main

H2_NS = "{http://www.hydrogen-music.org/drumkit}"


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    from liveinstrument.engine.instrument import Instrument
    d = tmp_path_factory.mktemp("kit")
    with Instrument(n_pads=4, synchronous=True, seed=3) as inst:
        inst.set_param(2, "tune", 0.6)        # a pad setting the export must carry (rendered in)
        inst.set_param(1, "round_robin", 1.0)  # the kick's takes clearly apart
        assert inst.wait_ready(120.0)
        return inst.save_kit(d / "Neural 4" / "kit.yaml")


@pytest.fixture(scope="module")
def exports(kit, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("exports")
    paths = {}
    for fmt in ("sfz", "hydrogen", "wav"):
        paths[fmt] = out / fmt
        assert main(["kit", "export", str(kit), "--format", fmt, "--out", str(paths[fmt]),
                     "--layers", "2", "--variations", "3"]) == 0
    return paths


def test_sfz_passes_sfzlint_with_every_sample_found(exports):
    sfz = exports["sfz"] / "Neural 4.sfz"
    text = sfz.read_text()
    assert text.count("<region>") == 4 * 2 * 3 and "seq_length=3" in text and "amp_veltrack=0" in text
    assert "group=1" in text and "off_by=1" in text             # the hats' choke group
    res = subprocess.run(["sfzlint", str(sfz)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "" and res.stderr.strip() == "", res.stdout + res.stderr
    # the linter does look: a misspelt opcode and a missing sample are both reported
    bad = sfz.with_name("bad.sfz")
    bad.write_text(text.replace("amp_veltrack", "amp_veltrak").replace("p01_kick_v1_rr1", "p01_kick_v1_rr9"))
    res = subprocess.run(["sfzlint", str(bad)], capture_output=True, text=True, timeout=120)
    assert "amp_veltrak" in res.stdout and "file not found" in res.stdout
    bad.unlink()


def _best_take(y: np.ndarray, takes: list[np.ndarray]) -> tuple[int, float, float]:
    """Index of the take ``y`` (sfizz output, one channel) is a scaled copy of, its relative
    residual, and the next best take's."""
    res = []
    for t in takes:
        n = min(len(t), len(y)) - 8
        a = t[:n, 0].astype(np.float64)
        best = np.inf
        for lag in range(4):          # sfizz's interpolator delays the sample by a sample or so
            b = y[lag:lag + n].astype(np.float64)
            g = float(a @ b / (a @ a))
            best = min(best, float(np.linalg.norm(b - g * a) / np.linalg.norm(b)))
        res.append(best)
    i = int(np.argmin(res))
    return i, res[i], sorted(res)[1]


def test_sfz_plays_in_sfizz_with_round_robin_and_velocity_layers(exports):
    pysfizz = pytest.importorskip("pysfizz", reason="pip install pysfizz (the sfizz SFZ player)")
    synth = pysfizz.Synth(sample_rate=44_100, block_size=256)
    assert synth.load_sfz_file(str(exports["sfz"] / "Neural 4.sfz"), quiet=False)
    assert synth.playable_keys == [36, 38, 42, 46]
    samples = exports["sfz"] / "samples"
    loud = [sf.read(samples / f"p01_kick_v2_rr{i}.wav", dtype="float32")[0] for i in (1, 2, 3)]
    # sfizz streams a sample's tail from disk in a background thread; the first play of a
    # take can race it (seen: 1 run in 3), so one warm-up round loads every take first
    for _ in range(3):
        synth.render_note(36, 127, 0.1, 0.7)
    picked = []
    for _ in range(6):
        y = synth.render_note(36, 127, 0.1, 0.7)[0]
        assert np.all(np.isfinite(y)) and np.max(np.abs(y)) > 0.01
        i, r, r_next = _best_take(y, loud)
        assert r < 0.02 and r_next > 2 * r, f"sfizz output is not one exported take (residuals {r:.3f}, {r_next:.3f})"
        picked.append(i)
    assert picked == [0, 1, 2, 0, 1, 2], f"round-robin order {picked}"
    soft = synth.render_note(36, 40, 0.1, 0.7)[0]
    assert 0.0 < np.max(np.abs(soft)) < 0.6 * np.max(np.abs(y)), "the soft velocity layer is not softer"


def _song(drumkit_xml: Path, kit_name: str, hits: list[tuple[int, int, float]]) -> str:
    """A one-pattern Hydrogen song that uses the kit (its instruments, looked up by name among
    the user's kits) and plays ``hits``: (tick of 192 per bar of 4/4, instrument id, velocity)."""
    src = ET.parse(drumkit_xml).getroot()
    song = ET.Element("song")
    for tag, val in (("version", "1.2.0"), ("bpm", 60), ("volume", 1), ("metronomeVolume", 0),
                     ("name", "export check"), ("loopEnabled", "false"), ("mode", "song")):
        ET.SubElement(song, tag).text = str(val)
    comps = ET.SubElement(song, "componentList")
    for c in src.find(f"{H2_NS}componentList"):
        comps.append(c)
    ilist = ET.SubElement(song, "instrumentList")
    for ins in src.find(f"{H2_NS}instrumentList"):
        name_at = list(ins).index(ins.find(f"{H2_NS}name"))
        for k, (tag, val) in enumerate((("drumkit", kit_name), ("drumkitLookup", 1))):  # 1 = user kits
            e = ET.Element(tag)
            e.text = str(val)
            ins.insert(name_at + 1 + k, e)
        ilist.append(ins)
    pat = ET.SubElement(ET.SubElement(song, "patternList"), "pattern")
    ET.SubElement(pat, "name").text = "P"
    ET.SubElement(pat, "size").text = "192"
    ET.SubElement(pat, "denominator").text = "4"
    notes = ET.SubElement(pat, "noteList")
    for tick, inst, vel in hits:
        n = ET.SubElement(notes, "note")
        for tag, val in (("position", tick), ("leadlag", 0), ("velocity", vel), ("pan", 0), ("pitch", 0),
                         ("probability", 1), ("key", "C0"), ("length", -1), ("instrument", inst),
                         ("note_off", "false")):
            ET.SubElement(n, tag).text = str(val)
    ET.SubElement(song, "virtualPatternList")
    ET.SubElement(ET.SubElement(ET.SubElement(song, "patternSequence"), "group"), "patternID").text = "P"
    xml = ET.tostring(song, encoding="unicode").replace(' xmlns:ns0="http://www.hydrogen-music.org/drumkit"', "")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml.replace("ns0:", "")


@pytest.mark.slow
def test_hydrogen_kit_is_valid_and_renders_in_h2cli(exports, tmp_path):
    if shutil.which("h2cli") is None:
        pytest.skip("h2cli not installed (Debian package hydrogen)")
    kit_dir = exports["hydrogen"]
    root = ET.parse(kit_dir / "drumkit.xml").getroot()
    instruments = root.find(f"{H2_NS}instrumentList")
    assert [i.findtext(f"{H2_NS}midiOutNote") for i in instruments] == ["36", "38", "42", "46"]
    assert [i.findtext(f"{H2_NS}muteGroup") for i in instruments] == ["-1", "-1", "0", "0"]
    for ins in instruments:
        layers = ins.find(f"{H2_NS}instrumentComponent").findall(f"{H2_NS}layer")
        assert len(layers) == 6 and ins.findtext(f"{H2_NS}sampleSelectionAlgo") == "ROUND_ROBIN"
        assert all((kit_dir / lay.findtext(f"{H2_NS}filename")).is_file() for lay in layers)
    # Hydrogen's own copy of the drumkit's place: the user's data folder, under a private HOME
    env = dict(os.environ, HOME=str(tmp_path))
    user_kit = tmp_path / ".hydrogen" / "data" / "drumkits" / "Neural 4"
    shutil.copytree(kit_dir, user_kit)
    check = subprocess.run(["h2cli", "-c", str(user_kit)], capture_output=True, text=True, env=env, timeout=120)
    assert f"Provided drumkit [{user_kit}] is valid" in check.stdout + check.stderr, check.stdout[-2000:]
    # kick loud at beat 1, snare at beat 2, closed hat at beat 3, kick soft at beat 4 (60 bpm: 1 s apart)
    hits = [(0, 0, 1.0), (48, 1, 1.0), (96, 2, 1.0), (144, 0, 0.25)]
    song = tmp_path / "check.h2song"
    song.write_text(_song(kit_dir / "drumkit.xml", "Neural 4", hits))
    wav = tmp_path / "h2.wav"
    # -d alsa: with no sound card Hydrogen falls back to its null driver at once (JACK would wait)
    subprocess.run(["h2cli", "-s", str(song), "-o", str(wav), "-d", "alsa"], capture_output=True, text=True,
                   env=env, timeout=180)
    assert wav.is_file(), "h2cli wrote no audio"
    y, sr = sf.read(wav, dtype="float32", always_2d=True)
    assert sr == 44_100 and np.all(np.isfinite(y))
    env_db = np.max(np.abs(y), axis=1)
    peaks = []
    for tick, _, _ in hits:
        t0 = int(tick / 48 * sr)
        before = env_db[max(0, t0 - 2000):max(0, t0 - 200)]
        seg = env_db[t0:t0 + int(0.05 * sr)]
        assert before.size == 0 or before.max() < 0.5 * seg.max(), f"no onset at tick {tick}"
        peaks.append(float(seg.max()))
    assert min(peaks) > 0.01, f"silent hit in Hydrogen's render: {peaks}"
    assert peaks[3] < 0.6 * peaks[0], f"the soft kick's layer is not softer: {peaks}"
    # Hydrogen plays our samples: its loud kick is the exported take (scaled by its mixer)
    take = sf.read(kit_dir / "p01_kick_v2_rr1.wav", dtype="float32", always_2d=True)[0]
    n = min(take.shape[0], int(0.4 * sr))
    c = np.corrcoef(y[:n, 0], take[:n, 0])[0, 1]
    assert c > 0.95, f"Hydrogen's kick does not match the exported sample (corr {c:.3f})"


def test_wav_export_is_each_pads_sound_as_the_instrument_plays_it(exports, kit):
    files = sorted(p.name for p in exports["wav"].glob("*.wav"))
    assert files == ["p01_kick.wav", "p02_snare.wav", "p03_closed-hat.wav", "p04_open-hat.wav"]
    for f in files:
        y, sr = sf.read(exports["wav"] / f, dtype="float32", always_2d=True)
        assert sr == 44_100 and y.shape[1] == 2 and 0.05 < np.max(np.abs(y)) <= 1.0
    # the same engine path as the SFZ's loudest first take: identical audio (24-bit files)
    a = sf.read(exports["wav"] / "p02_snare.wav", dtype="float32")[0]
    b = sf.read(exports["sfz"] / "samples" / "p02_snare_v2_rr1.wav", dtype="float32")[0]
    assert a.shape == b.shape and np.array_equal(a, b)


def test_export_of_a_missing_kit_says_what_to_do(tmp_path, capsys):
    assert main(["kit", "export", str(tmp_path / "nope"), "--format", "sfz", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err and "from-folder" in err
