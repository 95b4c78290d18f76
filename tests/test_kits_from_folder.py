"""`drumgan kit from-folder` on a small real sample folder: one-shots from Debian's LMMS and
Hydrogen packages (OGG, FLAC, and one converted to a 96 kHz stereo AIFF), plus a corrupt
file and a silent one. The shipped E, classifier and G do the work; the kit is then played
by the real Instrument."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from liveinstrument.cli import main

LMMS = Path("/usr/share/lmms/samples/drums")
TR808 = Path("/usr/share/hydrogen/data/drumkits/TR808EmulationKit")


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory) -> Path:
    need = [LMMS / "snare01.ogg", LMMS / "hihat_closed01.ogg", TR808 / "808_Kick_Long.flac",
            TR808 / "808_Cymbal.flac"]
    missing = [str(p) for p in need if not p.is_file()]
    if missing:
        pytest.skip(f"Debian sample packages missing (lmms-common, hydrogen-data): {missing}")
    d = tmp_path_factory.mktemp("samples")
    for p in need[:2]:
        shutil.copy(p, d / p.name)
    shutil.copy(need[3], d / "808 Cymbal.flac")
    kick, sr = sf.read(need[2], dtype="float32", always_2d=True)
    from liveinstrument.audio_io import resample
    k96 = resample(kick[:, 0], sr, 96_000)
    (d / "sub").mkdir()                                     # folders are searched recursively
    sf.write(d / "sub" / "kick 96k.aiff", np.stack([k96, 0.8 * k96], axis=1), 96_000, subtype="PCM_24")
    (d / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    sf.write(d / "silent.wav", np.zeros(30_000, np.float32), 48_000)
    (d / "README.txt").write_text("not audio, not listed")
    return d


@pytest.fixture(scope="module")
def made(sample_folder):
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["kit", "from-folder", str(sample_folder), "--out", "My Folder Kit", "--refine", "2",
                   "--round-robin", "0.5"])
    return rc, out.getvalue(), err.getvalue()


def test_bad_files_get_one_line_each_and_the_rest_loads(made):
    rc, out, err = made
    assert rc == 1                                          # some files were skipped
    lines = [ln for ln in err.splitlines() if ln.startswith("drumgan kit from-folder:")]
    assert len(lines) == 2, err
    assert any("broken.wav" in ln and "not a readable audio file" in ln for ln in lines)
    assert any("silent.wav" in ln and "silent" in ln for ln in lines)
    assert "4 pads from 6 files (2 skipped)" in out


def test_kit_is_saved_among_the_users_kits_ordered_by_class(made):
    from liveinstrument import paths
    from liveinstrument.classify import SoundClassifier
    from liveinstrument.engine.state import load_kit
    from liveinstrument.audio_io import load_one_shot
    kit = paths.resolve_kit("My Folder Kit")               # what `drumgan live --kit NAME` finds
    assert kit == paths.kits_dir() / "My Folder Kit" / "kit.yaml"
    pads, model_hash, raw, doc = load_kit(kit)
    names = [p.name for p in pads]
    assert sorted(names) == ["808 Cymbal", "hihat_closed01", "kick 96k", "snare01"]
    # ordered by the classifier's class (kick < snare < cymbal), on GM notes of that class
    clf = SoundClassifier(paths.model_file("classifier.safetensors"))
    assert names[0] == "kick 96k" and pads[0].note == 36
    cls = [int(np.argmax(clf.probs(_captured(kit, d)[None])[0])) for d in doc["pads"]]
    assert cls == sorted(cls)
    assert len({p.note for p in pads}) == 4
    for p, c in zip(pads, cls):
        assert p.note in {0: (36, 35), 1: (38, 40, 37, 39), 2: (42, 46, 44, 49, 51, 57)}[c]
    # every pad: E's (z, c), its own variation directions, round-robin, rendered slots, its source
    assert model_hash == doc["model_hash"] and len(raw) == 4
    for i, p in enumerate(pads):
        assert np.linalg.norm(p.z_center) > 1.0 and abs(float(p.e1 @ p.e2)) < 1e-4
        assert p.round_robin == pytest.approx(0.5) and abs(p.kick + p.snare + p.cymbal - 1) < 1e-3
        slots = raw[i]
        assert slots.shape[0] == 8 and np.all(np.isfinite(slots))
        assert min(np.abs(slots[0] - slots[s]).max() for s in range(1, 8)) > 1e-3, "round-robin slots identical"
        assert (kit.parent / doc["pads"][i]["audio"]).resolve().parent == (kit.parent / "kit_audio").resolve()
    # the source sound is kept with the kit (the pad's captured audio), as E saw it
    snare = load_one_shot(LMMS / "snare01.ogg")
    assert np.allclose(_captured(kit, doc["pads"][names.index("snare01")]), snare, atol=1e-6)


def _captured(kit: Path, entry: dict) -> np.ndarray:
    return sf.read(kit.parent / entry["captured"], dtype="float32")[0]


def test_the_kit_plays_in_the_instrument(made):
    from liveinstrument import paths
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.offline import Hit, render_hits
    with Instrument(kit=paths.resolve_kit("My Folder Kit"), synchronous=True) as inst:
        hits = [Hit(int(i * 0.6 * inst.sample_rate), i + 1, 1.0) for i in range(inst.n_pads)]
        y = render_hits(inst, hits)
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0
    for h in hits:
        seg = y[h.sample:h.sample + 4096]
        assert np.sqrt(np.mean(seg ** 2)) > 0.01, f"pad {h.pad} silent"


def test_order_and_notes_without_models():
    from liveinstrument.kits.folder import Analysed, assign_notes, order_by_class
    mk = lambda name, p: Analysed(Path(name), np.zeros(1), np.zeros(128), np.zeros(3), np.asarray(p))  # noqa: E731
    items = [mk("c.wav", [0.1, 0.1, 0.8]), mk("s.wav", [0.2, 0.7, 0.1]), mk("k2.wav", [0.6, 0.2, 0.2]),
             mk("k1.wav", [0.9, 0.05, 0.05])]
    assert [a.path.name for a in order_by_class(items)] == ["k1.wav", "k2.wav", "s.wav", "c.wav"]
    assert assign_notes(["kick", "kick", "kick", "snare", "cymbal"]) == [36, 35, 37, 38, 42]
