"""`drumgan classify`, `drumgan generate`, `drumgan analyze` through the real console entry point.

Models are freshly initialised networks of the shipped shapes, saved the way
training ships them (fp16 safetensors + JSON config) into a temporary models
folder; inputs are real files at odd rates, channel counts and containers.
Untrained models cannot say whether a sound is a snare, so the tests check the
contracts: output format, files written, determinism, error handling, exit codes.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from liveinstrument import signal as S
from liveinstrument.cli import main
from model_fixtures import (assert_fp16_safetensors, at_rate, drum, log_spec_distance, no_pickle,
                            save_random_models, write_audio)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return save_random_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Good files at odd rates/channels/containers, bad files, and a non-audio file that is ignored."""
    d = tmp_path_factory.mktemp("inputs")
    kick, snare, hat = drum("kick", 31), drum("snare", 32), drum("cymbal", 33)
    good = [
        write_audio(d / "kick22k.wav", 0.5 * at_rate(kick, 22_050), 22_050),
        write_audio(d / "sub" / "snare48k_stereo.flac", 0.4 * np.stack([at_rate(snare, 48_000)] * 2, 1), 48_000),
        write_audio(d / "sub" / "hat96k.aiff", 0.3 * np.stack([at_rate(hat, 96_000)] * 3, 1), 96_000),
        write_audio(d / "long_late.wav", np.concatenate([np.zeros(9000), kick, kick, kick]).astype(np.float32)),
    ]
    (d / "broken.wav").write_text("definitely not a wav\n")
    write_audio(d / "silent.wav", np.zeros(30_000, np.float32))
    sf.write(str(d / "empty.wav"), np.zeros((0, 2), np.float32), 44_100)
    (d / "notes.txt").write_text("ignored: not an audio suffix")
    bad = [d / "broken.wav", d / "empty.wav", d / "silent.wav"]
    return {"dir": d, "good": good, "bad": bad}


def _json_lines(text: str) -> list[dict]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines]


# ------------------------------------------------------------------ models load without pickle
def test_models_are_fp16_safetensors_and_load_without_pickle(models, monkeypatch):
    from liveinstrument.classify import SoundClassifier
    from liveinstrument.synth import DrumSynth

    for name in ("generator", "classifier", "encoder"):
        assert_fp16_safetensors(models / f"{name}.safetensors")
    with no_pickle(monkeypatch):
        synth = DrumSynth.load(models, device="cpu")
        clf = SoundClassifier(models / "classifier.safetensors")
    assert synth.encoder is not None and len(synth.model_hash) == 16
    p = clf.probs(np.stack([drum("kick", 1), drum("snare", 1)]))
    assert p.shape == (2, 3) and np.allclose(p.sum(1), 1, atol=1e-5)


# ------------------------------------------------------------------ classify
def test_classify_console_script_json_lines(models, inputs):
    """The installed console script: stdout is pure JSON lines, errors go to stderr, exit 1."""
    exe = shutil.which("drumgan")
    cmd = [exe] if exe else [sys.executable, "-m", "liveinstrument.cli"]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run(cmd + ["classify", str(inputs["dir"]), "--model", str(models / "classifier.safetensors")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1, r.stderr
    rows = _json_lines(r.stdout)
    assert [row["path"] for row in rows] == sorted(str(p) for p in inputs["good"])
    for row in rows:
        assert set(row) == {"path", "kick", "snare", "cymbal"}
        assert all(0 <= row[k] <= 1 for k in S.CLASSES)
        assert sum(row[k] for k in S.CLASSES) == pytest.approx(1.0, abs=2e-3)
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == len(inputs["bad"]), r.stderr
    for p in inputs["bad"]:
        assert any(ln.startswith("drumgan classify: ") and str(p) in ln for ln in err), (p, err)
    assert "Traceback" not in r.stderr


def test_classify_in_process_all_good_and_explicit_files(models, inputs, tmp_path, capsys):
    good = [str(p) for p in inputs["good"][:2]]
    rc = main(["classify", *good, "--model", str(models / "classifier.safetensors")])
    out, err = capsys.readouterr()
    assert rc == 0 and err == ""
    rows = _json_lines(out)
    assert [r["path"] for r in rows] == good
    # the same file at another rate/level gives (nearly) the same probabilities
    d = inputs["dir"]
    write_audio(tmp_path / "kick44k.wav", 0.9 * drum("kick", 31), subtype="FLOAT")
    main(["classify", str(d / "kick22k.wav"), str(tmp_path / "kick44k.wav"),
          "--model", str(models / "classifier.safetensors")])
    a, b = _json_lines(capsys.readouterr().out)
    assert all(abs(a[k] - b[k]) < 0.02 for k in S.CLASSES)


def test_classify_missing_file_and_missing_model(models, inputs, tmp_path, capsys):
    rc = main(["classify", str(tmp_path / "nope.wav"), str(inputs["good"][0]),
               "--model", str(models / "classifier.safetensors")])
    out, err = capsys.readouterr()
    assert rc == 1 and len(_json_lines(out)) == 1 and "no such file" in err
    rc = main(["classify", str(inputs["good"][0]), "--model", str(tmp_path / "none.safetensors")])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and err.startswith("drumgan classify: ") and len(err.splitlines()) == 1


# ------------------------------------------------------------------ generate
def _generate(models, out, *args) -> tuple[int, list[dict], np.ndarray]:
    rc = main(["generate", "--models", str(models), "--out", str(out), *args])
    files = sorted(out.glob("*.wav"))
    audio = np.stack([sf.read(str(p), dtype="float32")[0] for p in files]) if files else np.zeros((0, 0))
    return rc, files, audio


def test_generate_writes_wavs_deterministically(models, tmp_path, capsys):
    rc, files, a = _generate(models, tmp_path / "a", "--class", "snare", "--count", "3", "--seed", "1")
    rows = _json_lines(capsys.readouterr().out)
    assert rc == 0 and [p.name for p in files] == [f"snare_1_{i:03d}.wav" for i in range(3)]
    assert [r["path"] for r in rows] == [str(p) for p in files] and rows[0]["c"] == [0.0, 1.0, 0.0]
    for p in files:
        info = sf.info(str(p))
        assert (info.samplerate, info.channels, info.frames) == (44_100, 1, S.N_SAMPLES)
    assert np.isfinite(a).all() and np.abs(a).max() <= 0.99 + 1e-4 and np.abs(a).max(1).min() > 0.5
    assert not np.allclose(a[0], a[1])                       # three different sounds
    _, _, again = _generate(models, tmp_path / "b", "--class", "snare", "--count", "3", "--seed", "1")
    np.testing.assert_array_equal(a, again)                  # same seed, same sounds
    _, _, other = _generate(models, tmp_path / "c", "--class", "snare", "--count", "3", "--seed", "2")
    assert not np.allclose(a, other, atol=1e-3)
    _, _, kicks = _generate(models, tmp_path / "d", "--class", "kick", "--count", "3", "--seed", "1")
    assert not np.allclose(a, kicks, atol=1e-3)              # c reaches the generator


def test_generate_mix_and_variation(models, tmp_path, capsys):
    rc, files, mix = _generate(models, tmp_path / "mix", "--mix", "0.5", "0.5", "0", "--count", "2", "--seed", "1")
    rows = _json_lines(capsys.readouterr().out)
    assert rc == 0 and len(files) == 2 and files[0].name.startswith("mix_1_")
    assert rows[0]["c"] == [0.5, 0.5, 0.0]
    _, _, mix_same = _generate(models, tmp_path / "mix2", "--mix", "1", "1", "0", "--count", "2", "--seed", "1")
    np.testing.assert_allclose(mix, mix_same, atol=1e-6)      # sliders are normalised like the live ones

    base_args = ("--class", "snare", "--count", "3", "--seed", "1", "--direction-seed", "3")
    _, _, v0 = _generate(models, tmp_path / "v0", *base_args)
    _, _, v2 = _generate(models, tmp_path / "v2", *base_args, "--variation", "2")
    _, _, v2b = _generate(models, tmp_path / "v2b", *base_args[:-1], "4", "--variation", "2")
    _, _, far = _generate(models, tmp_path / "far", "--class", "snare", "--count", "3", "--seed", "5")
    capsys.readouterr()
    near = log_spec_distance(v0, v2)
    assert np.all(near > 0.1)                                 # a variation is a different sound ...
    assert np.all(near < 0.6 * log_spec_distance(v0, far))    # ... but close to its centre
    assert not np.allclose(v2, v2b, atol=1e-3)                # the direction seed picks the direction


def test_generate_errors(models, tmp_path, capsys):
    assert main(["generate", "--models", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "generator.safetensors" in capsys.readouterr().err
    assert main(["generate", "--models", str(models), "--count", "0", "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(SystemExit):   # --class and --mix are exclusive
        main(["generate", "--class", "kick", "--mix", "1", "0", "0"])
    capsys.readouterr()


# ------------------------------------------------------------------ analyze
def test_analyze_writes_wav_and_json_and_survives_bad_files(models, inputs, tmp_path, capsys):
    out = tmp_path / "an"
    good = inputs["good"][:2]
    rc = main(["analyze", str(good[0]), str(inputs["bad"][0]), str(good[1]), str(inputs["bad"][2]),
               "--out", str(out), "--models", str(models), "--variations", "2", "--direction-seed", "1"])
    cap = capsys.readouterr()
    assert rc == 1
    err = [ln for ln in cap.err.splitlines() if ln.strip()]
    assert len(err) == 2 and all(ln.startswith("drumgan analyze: ") for ln in err)
    assert str(inputs["bad"][0]) in err[0] and "silent" in err[1]
    for p in good:
        wav, meta = out / f"{p.stem}.wav", out / f"{p.stem}.json"
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels, info.frames) == (44_100, 1, S.N_SAMPLES)
        m = json.loads(meta.read_text())
        assert m["path"] == str(p) and len(m["z"]) == 128 and all(isinstance(v, float) for v in m["z"])
        assert set(m["c"]) == set(S.CLASSES) and sum(m["c"].values()) == pytest.approx(1.0, abs=2e-3)
        assert m["refine_steps"] == 0 and m["variations"] == 2
        for i in (1, 2):
            assert sf.info(str(out / f"{p.stem}_var{i:02d}.wav")).frames == S.N_SAMPLES
        v1 = sf.read(str(out / f"{p.stem}_var01.wav"))[0]
        assert not np.allclose(v1, sf.read(str(wav))[0], atol=1e-3)
    assert sorted(x.name for x in out.iterdir()) == sorted(
        f"{p.stem}{s}" for p in good for s in (".wav", ".json", "_var01.wav", "_var02.wav"))
    assert len([ln for ln in cap.out.splitlines() if " -> " in ln]) == 2


def test_analyze_resynthesis_matches_drumsynth_and_refine(models, inputs, tmp_path, capsys):
    from liveinstrument.audio_io import load_one_shot
    from liveinstrument.eval.metrics import lsd_db
    from liveinstrument.synth import DrumSynth

    src = inputs["good"][1]
    assert main(["analyze", str(src), "--out", str(tmp_path / "r0"), "--models", str(models)]) == 0
    assert main(["analyze", str(src), "--out", str(tmp_path / "r3"), "--models", str(models),
                 "--refine", "3"]) == 0
    capsys.readouterr()
    m0 = json.loads((tmp_path / "r0" / f"{src.stem}.json").read_text())
    m3 = json.loads((tmp_path / "r3" / f"{src.stem}.json").read_text())
    assert m3["refine_steps"] == 3 and len(m3["z"]) == 128
    assert not np.allclose(m0["z"], m3["z"], atol=1e-4)       # refinement moved z
    w0, w3 = (sf.read(str(tmp_path / r / f"{src.stem}.wav"), dtype="float32")[0] for r in ("r0", "r3"))
    ref = load_one_shot(src)
    assert lsd_db(ref, w3) <= lsd_db(ref, w0) + 0.05             # ...and kept it no further from the input
    # the JSON's (z, c) regenerate the written WAV through the same seam the live side uses
    synth = DrumSynth.load(models)  # the device the CLI picked
    z, c = synth.encode(load_one_shot(src)[None])
    np.testing.assert_allclose(z[0], m0["z"], atol=2e-4)
    regen = synth.generate(np.array([m0["z"]], np.float32), np.array([list(m0["c"].values())], np.float32))[0]
    wav = sf.read(str(tmp_path / "r0" / f"{src.stem}.wav"), dtype="float32")[0]
    assert np.corrcoef(regen, wav)[0, 1] > 0.99


def test_analyze_without_encoder_is_a_clear_error(tmp_path, inputs, capsys):
    models = save_random_models(tmp_path / "m", encoder=False, classifier=False)
    assert main(["analyze", str(inputs["good"][0]), "--out", str(tmp_path / "o"), "--models", str(models)]) == 2
    err = capsys.readouterr().err
    assert "encoder" in err and len(err.strip().splitlines()) == 1
