"""liveinstrument.paths: shipped data found from any directory, user state under $DRUMGAN_HOME
or the platform's user dirs, names from remote senders confined to the user's kit dir."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from liveinstrument import paths


def test_shipped_data_found_from_another_directory(tmp_path: Path) -> None:
    code = ("from liveinstrument import paths; "
            "print(paths.shipped_models_dir()); print(paths.shipped_mappings_dir()); print(paths.shipped_kits_dir())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(Path(paths.__file__).parents[1])})
    assert out.returncode == 0, out.stderr
    models, mappings, kits = (Path(x) for x in out.stdout.split())
    assert (models / "generator.safetensors").is_file() and (models / "generator.json").is_file()
    assert (mappings / "gm-default.yaml").is_file()
    assert (kits / paths.DEFAULT_KIT / paths.KIT_FILE).is_file()


def test_user_dirs_follow_drumgan_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    assert paths.kits_dir() == tmp_path / "kits"
    assert paths.user_mappings_dir() == tmp_path / "mappings"
    assert paths.user_models_dir() == tmp_path / "models"
    assert paths.samples_dir() == tmp_path / "samples"
    assert paths.training_data() == tmp_path / "data" / "real.npz"
    assert paths.models_out_dir() == tmp_path / "models"


def test_user_dirs_are_the_platform_ones_without_drumgan_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    if sys.platform.startswith("linux"):
        assert paths.user_mappings_dir() == tmp_path / "cfg" / "drumgan" / "mappings"
        assert paths.kits_dir() == tmp_path / "share" / "drumgan" / "kits"


def test_user_models_override_shipped_only_with_a_generator(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    assert paths.models_dir() == paths.shipped_models_dir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "generator.safetensors").write_bytes(b"x")
    assert paths.models_dir() == tmp_path / "models"
    assert paths.models_dir("/elsewhere") == Path("/elsewhere")
    assert paths.model_file("classifier.safetensors") == paths.shipped_models_dir() / "classifier.safetensors"


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", ".hidden", "", "a\\b", "x" * 65, "/etc/passwd", "a..b"])
def test_kit_names_from_senders_stay_in_the_kit_dir(bad: str) -> None:
    with pytest.raises(ValueError):
        paths.user_kit_path(bad)


def test_kit_resolution_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    assert paths.resolve_kit(paths.DEFAULT_KIT) == paths.shipped_kits_dir() / paths.DEFAULT_KIT / paths.KIT_FILE
    mine = paths.user_kit_path("my kit")
    mine.parent.mkdir(parents=True)
    mine.write_text("pads: []\n")
    assert paths.resolve_kit("my kit") == mine
    assert paths.resolve_kit(str(mine.parent)) == mine
    assert [n for n, _ in paths.all_kits()][:2] == ["my kit", paths.DEFAULT_KIT]
    with pytest.raises(FileNotFoundError, match="my kit"):
        paths.resolve_kit("nope")


def test_shipped_default_kit_is_the_engine_default() -> None:
    from liveinstrument.engine.state import default_kit, load_kit
    pads, _, raw, _ = load_kit(paths.resolve_kit(paths.DEFAULT_KIT))
    want = default_kit(16, 0)
    assert raw == {}
    assert [p.to_dict() for p in pads] == [p.to_dict() for p in want]


def test_learn_never_targets_a_shipped_mapping(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    shipped = paths.shipped_mappings_dir() / "gm-default.yaml"
    assert paths.is_shipped(shipped)
    assert paths.learned_mapping_path(shipped) == tmp_path / "mappings" / "gm-default.yaml"
    own = tmp_path / "own.yaml"
    assert paths.learned_mapping_path(own) == own
    # a user copy shadows the shipped mapping of that name
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "gm-default.yaml").write_text("name: mine\n")
    assert paths.resolve_mapping("gm-default") == tmp_path / "mappings" / "gm-default.yaml"
