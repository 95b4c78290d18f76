"""`drumgan eval` end to end on a tiny real set and untrained models of the shipped shapes.

The figures of untrained models mean nothing; what is checked is that the commands run on
real files, print the paper-shaped tables, and write the listening page and JSON.
"""
import json
import shutil
from pathlib import Path

import numpy as np

from liveinstrument.cli import main
from model_fixtures import drum, save_random_models


def _tiny_set(path: Path) -> Path:
    audio, label, split, kit = [], [], [], []
    for k, cls in enumerate(("kick", "snare", "cymbal")):
        for i in range(4):
            audio.append(drum(cls, 100 + 10 * k + i))
            label.append(k)
            split.append("train" if i < 2 else "test")
            kit.append("A" if i < 2 else "B")
    audio.append(drum("kick", 999))
    label.append(3)
    split.append("other")
    kit.append("A")
    np.savez(path, audio=np.stack(audio), label=np.array(label), split=np.array(split),
             kit=np.array(kit), real=np.ones(len(label), bool))
    return path


def test_eval_gan_and_encoder(tmp_path, capsys):
    models = save_random_models(tmp_path / "models")
    shutil.copy(models / "classifier.safetensors", models / "eval_classifier.safetensors")
    shutil.copy(models / "classifier.json", models / "eval_classifier.json")
    data = _tiny_set(tmp_path / "set.npz")
    rc = main(["eval", "gan", "--models", str(models), "--data", str(data), "--per-class", "6",
               "--report", str(tmp_path / "report"), "--json", str(tmp_path / "gan.json")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Table 1" in out and "DrumGAN Live vs real test kit" in out and "IS ratio" in out
    res = json.loads((tmp_path / "gan.json").read_text())
    assert set(res["conditioning"]) == {"kick", "snare", "cymbal"}
    assert len(res["kick_to_snare"]["snare_prob"]) == 11
    page = (tmp_path / "report" / "index.html").read_text()
    assert page.count("<audio") == 3 * 6 + 7 and (tmp_path / "report" / "audio" / "kick_0.png").exists()
    # spectral balance (issue #14): printed, in the JSON per class, and plotted on the page
    assert "sub-100 Hz share" in out and "bands within 3 dB" in out
    sb = res["spectral_balance"]
    assert sb["bands"][0] == "sub" and len(sb["edges_hz"]) == len(sb["bands"]) + 1
    for name in ("kick", "snare", "cymbal"):
        for seg in ("early", "late"):
            assert len(sb[name][seg]["gen_db"]) == len(sb[name][seg]["real_db"]) == len(sb["bands"])
            assert 0 <= sb[name][seg]["bands_within"] <= len(sb["bands"])
    assert page.count("<svg") == 3 and "octave band (Hz, log axis)" in page and "dB (re full scale)" in page

    rc = main(["eval", "encoder", "--models", str(models), "--data", str(data), "--n", "3",
               "--refine", "0", "2", "--json", str(tmp_path / "enc.json")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Table 2" in out
    rows = json.loads((tmp_path / "enc.json").read_text())
    assert {r["set"] for r in rows} >= {"gen", "train", "test (B)"}
    assert {r["refine_steps"] for r in rows} == {0, 2}
    assert all(np.isfinite(r["LSD"]) and r["LSD"] >= 0 for r in rows)
    for r in rows:  # per-class LSD: present for the classes a set has (3 random sounds: not always all)
        per_class = [r[f"LSD_{k}"] for k in ("kick", "snare", "cymbal") if r[f"LSD_{k}"] is not None]
        if r["set"].startswith(("train", "test")):
            assert per_class and min(per_class) <= r["LSD"] + 1e-6 <= max(per_class) + 2e-6
        if r["set"].startswith("other"):
            assert all(r[f"LSD_{k}"] is None for k in ("kick", "snare", "cymbal"))
