"""Absent inputs are one line that says what to do, printed before any slow work (the
instrument takes tens of seconds to build with the shipped models)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def drumgan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRUMGAN_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "liveinstrument.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, says", [
    (("render", "/nonexistent.mid", "--out", "x.wav"), "no such MIDI file"),
    (("render", "notmidi.mid", "--out", "x.wav"), "not a readable MIDI file"),
    (("live", "--audio-device", "null", "--kit", "no-such-kit"), "kit 'no-such-kit' not found"),
    (("live", "--audio-device", "null", "--mapping", "no-such-mapping"), "mapping 'no-such-mapping' not found"),
    (("live", "--audio-device", "null", "--models", "/nonexistent"), "drumgan train gan"),
    (("generate", "--models", "/nonexistent"), "drumgan train gan"),
    (("eval", "gan", "--data", "/nonexistent.npz"), "drumgan data build"),
    (("eval", "encoder", "--data", "/nonexistent.npz"), "drumgan data build"),
    (("train", "classifier", "--data", "/nonexistent.npz"), "drumgan data build"),
])
def test_missing_input_is_one_line_before_any_work(tmp_path: Path, args, says) -> None:
    (tmp_path / "notmidi.mid").write_text("not midi")
    r = drumgan(tmp_path, *args)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 2, out
    assert says in out and len(out.splitlines()) == 1, out
    assert not (tmp_path / "x.wav").exists()
