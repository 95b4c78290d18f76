"""`drumgan data build` on a user folder: labels, splits, left-out reasons, manifest, cache.

The folder holds procedural drums written as real files (WAV/FLAC/AIFF, 44.1 and
48 kHz, mono and stereo) plus the kinds of trouble a real sample library has:
a silent file, a corrupt file, an exact copy and a gain-scaled 16-bit copy in
another kit folder, a snare roll, a tom.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

from liveinstrument import signal as S
from liveinstrument.data.build import LABELS, MANIFEST_COLUMNS, build, load_set, split_of
from liveinstrument.data.sources import SourceItem, folder_items, label_from_name
from model_fixtures import at_rate, drum, write_audio


# ------------------------------------------------------------------ labels from names
@pytest.mark.parametrize("name, label", [
    ("Ride Bell", "cymbal"),
    ("Snare Rimshot", "snare"),
    ("Tom Low", "other"),
    ('Kick (Tama 22")', "kick"),
    ("Snare Roll", "not-one-shot"),
    ("Cowbell", "other"),
    ("Hi-Hat Pedal", "cymbal"),
    ("c3 - bass drum 1", "kick"),
    ("Sabian Hat Choke", "not-one-shot"),
    ("Floor Tom 16", "other"),
    ("Crash Cymbal 1", "cymbal"),
    ("closed_hh", "cymbal"),
    ("HH_open", "cymbal"),
    ("BD01", "kick"),
    ("SD_02", "snare"),
    ("Side Stick", "other"),
    ("Hand Clap", "other"),
    ("Splash", "cymbal"),
    ("Kicks", "kick"),
    ("Snares", "snare"),
    ("Hats", "cymbal"),
    ("Crash Swell", "cymbal"),
    ("Cymbal Swirl", "not-one-shot"),
    ("Drum Loop 120", "not-one-shot"),
])
def test_label_from_name(name, label):
    assert label_from_name(name) == label


def test_split_of():
    assert split_of("BJA_Pacific") == "test"
    assert split_of("GMRockKit") == "excluded" and split_of("The Black Pearl 1.0") == "excluded"
    assert split_of("user:MyLib") == "train"


# ------------------------------------------------------------------ a messy user library
@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """MyLib/<kit>/<class folder>/<file> with good files and every kind of bad one."""
    root = tmp_path_factory.mktemp("lib") / "MyLib"
    kick, snare, hat, tom = drum("kick", 11), drum("snare", 12), drum("cymbal", 13), drum("kick", 14)
    ride = drum("cymbal", 15)
    f = {}
    f["kick"] = write_audio(root / "KitA/Kicks/k1.wav", 0.8 * kick)
    f["snare"] = write_audio(root / "KitA/Snares/s1.flac", 0.7 * snare)
    f["hat"] = write_audio(root / "KitA/Hats/closed_hh.aiff", 0.5 * hat)
    # a tom: low swept sine, long glide (different seed from the kick)
    f["tom"] = write_audio(root / "KitA/Toms/tom1.wav", 0.6 * tom)
    f["silent"] = write_audio(root / "KitA/Kicks/silent.wav", np.zeros(20_000, np.float32))
    f["corrupt"] = root / "KitA/Snares/corrupt.wav"
    f["corrupt"].write_bytes(b"RIFF\x00\x10\x00\x00WAVEfmt \x10\x00\x00\x00garbage-garbage")
    f["notes"] = root / "KitA/readme.txt"
    f["notes"].write_text("not audio, not listed")
    # the same kick copied into another kit; the snare re-saved 7 dB quieter (16-bit)
    f["copy"] = write_audio(root / "KitB/Kicks/k1_copy.wav", 0.8 * kick)
    f["quiet"] = write_audio(root / "KitB/Snares/s1_quiet.wav", 0.3 * snare, subtype="PCM_16")
    # a 48 kHz stereo ride with a little leading silence
    r48 = at_rate(np.concatenate([np.zeros(2000, np.float32), ride]), 48_000)
    f["ride48"] = write_audio(root / "KitB/Cymbals/ride48k.wav", 0.5 * np.stack([r48, 0.8 * r48], 1), 48_000)
    f["roll"] = write_audio(root / "KitB/Snares/snare roll.wav", 0.5 * np.tile(snare[:4000], 6))
    f["perc"] = write_audio(root / "KitB/Percussion/cowbell.wav", 0.5 * drum("cymbal", 16))
    f["nolabel"] = write_audio(root / "KitB/misc/thing.wav", 0.5 * drum("snare", 17))
    out = tmp_path_factory.mktemp("built")
    items = folder_items(root)
    report = build(items, out, "user")
    rows = list(csv.DictReader(open(out / "user.csv", newline="")))
    by_path = {r["path"]: r for r in rows}
    return {"root": root, "files": f, "items": items, "report": report, "out": out,
            "rows": rows, "by": {k: by_path.get(str(p)) for k, p in f.items()}}


def test_folder_items_labels_and_kits(library):
    lab = {it.path: (it.label, it.kit, it.package) for it in library["items"]}
    f = library["files"]
    assert str(f["notes"]) not in lab                       # only audio suffixes
    assert lab[str(f["kick"])] == ("kick", "user:KitA", "user")
    assert lab[str(f["snare"])][0] == "snare"
    assert lab[str(f["hat"])][0] == "cymbal"
    assert lab[str(f["tom"])][0] == "other"                 # Toms/ names percussion: kept apart
    assert lab[str(f["perc"])][0] == "other"
    assert lab[str(f["roll"])][0] == "not-one-shot"         # the file name beats the Snares/ folder
    assert lab[str(f["nolabel"])][0] == "unlabelled"        # nothing in misc/thing names a class
    assert lab[str(f["copy"])][1] == "user:KitB"


def test_manifest_columns_and_one_row_per_candidate(library):
    out = library["out"]
    with open(out / "user.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == MANIFEST_COLUMNS
    assert len(library["rows"]) == len(library["items"]) == library["report"].n_candidates
    for r in library["rows"]:
        assert r["status"] in ("kept", "left out")
        assert (r["reason"] == "") == (r["status"] == "kept"), r
        assert r["licence"] == "user-supplied" and r["package"] == "user"


def test_kept_files_and_splits(library):
    by = library["by"]
    for k in ("kick", "snare", "hat", "ride48"):
        assert by[k]["status"] == "kept" and by[k]["split"] == "train", by[k]
    assert (by["kick"]["class"], by["snare"]["class"], by["hat"]["class"]) == ("kick", "snare", "cymbal")
    assert by["ride48"]["original_rate"] == "48000"
    assert float(by["ride48"]["duration_s"]) == pytest.approx(len(drum("cymbal", 15)) / 44_100 + 2000 / 44_100,
                                                                abs=0.002)
    # toms and percussion are counted, kept apart in split 'other', never a training class
    for k in ("tom", "perc"):
        assert by[k]["status"] == "kept" and by[k]["class"] == "other" and by[k]["split"] == "other"
    assert library["report"].kept.get("other/other") == 2


def test_left_out_with_reasons(library):
    by = library["by"]
    f = library["files"]
    expect = {"silent": "silent", "corrupt": "unreadable", "copy": "identical to another file",
              "quiet": "near-duplicate", "roll": "not a one-shot", "nolabel": "no class"}
    for k, why in expect.items():
        assert by[k]["status"] == "left out" and by[k]["reason"].startswith(why), (k, by[k])
        assert by[k]["index"] == ""
    assert by["copy"]["duplicate_of"] == str(f["kick"])
    assert by["quiet"]["duplicate_of"] == str(f["snare"])   # a gain-scaled 16-bit copy is the same recording
    left = library["report"].left_out
    assert sum(left.values()) == len(expect)
    assert left["silent"] == left["unreadable"] == left["identical to another file"] == 1
    assert "\n".join(library["report"].lines()).startswith(f"{len(library['rows'])} candidates")


def test_npz_cache_is_consistent(library):
    d = load_set(library["out"] / "user.npz")
    kept = [r for r in library["rows"] if r["status"] == "kept"]
    n = len(kept)
    assert n == 6
    assert d["audio"].shape == (n, S.N_SAMPLES) and d["audio"].dtype == np.float32
    np.testing.assert_allclose(np.abs(d["audio"]).max(axis=1), 1.0, atol=1e-6)
    for k in ("label", "split", "kit", "path", "instrument", "real"):
        assert len(d[k]) == n, k
    assert d["real"].all() and d["label"].dtype == np.int64
    for r in kept:   # manifest index -> row of the arrays
        i = int(r["index"])
        assert d["path"][i] == r["path"] and d["split"][i] == r["split"]
        assert LABELS[d["label"][i]] == r["class"] and d["kit"][i] == r["kit"]
    assert sorted(int(r["index"]) for r in kept) == list(range(n))
    # every kept sound is model-ready: onset at the start, faded out at the end
    assert all(S.find_onset(x) <= 2 * S.FADE_IN for x in d["audio"])
    assert np.abs(d["audio"][:, -1]).max() < 1e-6


def test_build_never_raises_and_dedups_against_test_kits(tmp_path):
    snare = drum("snare", 21)
    good = write_audio(tmp_path / "s.wav", snare)
    items = [
        SourceItem(str(good), "hydrogen-drumkits", "SomeTrainKit", "Snare", "snare", "GPL-2"),
        SourceItem(str(tmp_path / "gone.wav"), "hydrogen-drumkits", "SomeTrainKit", "Kick", "kick", "GPL-2"),
        SourceItem(str(tmp_path / "kit/drumkit.xml"), "hydrogen", "BrokenKit", "?", "broken:bad xml", "?"),
        # the same recording in the unseen test kit (listed later: it must still win)
        SourceItem("sf2://x/38/90", "p", "BJA_Pacific", "Snare", "snare", "CC", audio=0.5 * snare, rate=44_100),
        # a pre-rendered sound at another rate in an excluded kit
        SourceItem("sf2://x/36/90", "p", "GMRockKit", "Kick", "kick", "GPL", audio=at_rate(drum("kick", 22), 22_050),
                   rate=22_050),
        SourceItem("sf2://x/42/90", "p", "KitC", "Hat", "cymbal", "MIT", audio=np.full(100, np.nan, np.float32),
                   rate=44_100),
    ]
    report = build(items, tmp_path / "out", "mixed")
    rows = {r["path"]: r for r in csv.DictReader(open(tmp_path / "out" / "mixed.csv", newline=""))}
    assert rows[str(good)]["status"] == "left out" and rows[str(good)]["duplicate_of"] == "sf2://x/38/90"
    assert rows["sf2://x/38/90"]["status"] == "kept" and rows["sf2://x/38/90"]["split"] == "test"
    assert rows[str(tmp_path / "gone.wav")]["reason"] == "missing file"
    assert rows[str(tmp_path / "kit/drumkit.xml")]["reason"].startswith("unreadable kit description")
    assert rows["sf2://x/36/90"]["reason"].startswith("excluded kit")
    assert rows["sf2://x/36/90"]["original_rate"] == "22050"
    assert rows["sf2://x/42/90"]["reason"].startswith("silent")          # NaN audio is not a sound
    assert report.kept == {"test/snare": 1}
    d = load_set(tmp_path / "out" / "mixed.npz")
    assert d["audio"].shape == (1, S.N_SAMPLES) and list(d["split"]) == ["test"]


def test_build_with_nothing_usable_writes_empty_set(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    report = build([SourceItem(str(bad), "user", "user:x", "bad", "kick", "user")], tmp_path, "empty")
    assert report.kept == {} and report.left_out == {"unreadable": 1}
    d = load_set(tmp_path / "empty.npz")
    assert d["audio"].shape == (0, S.N_SAMPLES)


def test_data_build_cli_on_a_folder(library, tmp_path, capsys):
    from liveinstrument.cli import main

    rc = main(["data", "build", "--no-hydrogen", "--no-fluid", "--no-extra", "--folder", str(library["root"]),
               "--out", str(tmp_path), "--name", "cli"])
    out = capsys.readouterr().out
    assert rc == 0 and "wrote" in out and "kept train/kick: 1" in out
    assert load_set(tmp_path / "cli.npz")["audio"].shape[0] == 6
    assert main(["data", "build", "--no-hydrogen", "--no-fluid", "--no-extra", "--folder", str(tmp_path / "nope"),
                 "--out", str(tmp_path)]) == 2
