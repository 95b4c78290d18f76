"""Where DrumGAN Live finds things: the one place every default path is resolved.

Two kinds of place:

* **Shipped, read-only** package data, found through :mod:`importlib.resources`: the
  models (``models/``), the mappings (``mappings/``) and the kits (``kits/``, the default
  GM kit). A wheel carries them inside the package (``liveinstrument/shipped/...``); a
  source checkout has them at the top of the repository, where they are found the same way.
* **User state**, written by the instrument: kits, learned mappings, user-trained models,
  samples, training data. It lives in the platform's user directories (``platformdirs``:
  ``~/.config/drumgan`` for mappings and ``~/.local/share/drumgan`` for the rest on Linux,
  honouring ``$XDG_CONFIG_HOME``/``$XDG_DATA_HOME``), or all of it under ``$DRUMGAN_HOME``
  when that is set.

Nothing here depends on the current directory. The functions are cheap (no torch) and
never create directories except ``ensure_dir``; callers that write create what they write.
"""
from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

APP = "drumgan"
HOME_ENV = "DRUMGAN_HOME"
SHIPPED_KINDS = ("models", "mappings", "kits")
KIT_FILE = "kit.yaml"                   # a kit is a folder: NAME/kit.yaml (+ NAME/kit_audio/)
DEFAULT_KIT = "gm-default"              # the shipped kit (the engine's GM default, seed 0)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,63}$")
_PACKAGE_ROOT = Path(__file__).resolve().parent


class BadName(ValueError):
    """A kit or mapping name that would leave the user's directory (separators, '..')."""


# ---------------------------------------------------------------------------------- shipped
def source_checkout() -> Path | None:
    """The repository root when running from a source tree (git clone, editable install), else None."""
    root = _PACKAGE_ROOT.parent
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir() and (root / "mappings").is_dir():
        return root
    return None


def shipped_dir(kind: str) -> Path:
    """The read-only folder of shipped ``models``, ``mappings`` or ``kits``.

    Package data first (``liveinstrument/shipped/<kind>`` in an installed wheel), then the
    repository's top-level ``<kind>/`` in a source checkout. A wheel is installed unpacked,
    so the resource is a real directory the loaders can open by path.
    """
    if kind not in SHIPPED_KINDS:
        raise ValueError(f"unknown shipped kind {kind!r} (one of {', '.join(SHIPPED_KINDS)})")
    res = resources.files("liveinstrument").joinpath("shipped", kind)
    if res.is_dir():
        return Path(str(res))
    root = source_checkout()
    if root is not None:
        return root / kind
    return Path(str(res))  # absent: callers say what is missing and what to run


def shipped_models_dir() -> Path:
    return shipped_dir("models")


def shipped_mappings_dir() -> Path:
    return shipped_dir("mappings")


def shipped_kits_dir() -> Path:
    return shipped_dir("kits")


# ---------------------------------------------------------------------------------- user dirs
def home() -> Path | None:
    """``$DRUMGAN_HOME`` (expanded) when set and non-empty."""
    h = os.environ.get(HOME_ENV, "").strip()
    return Path(h).expanduser() if h else None


def config_dir() -> Path:
    """User configuration (mappings): ``$DRUMGAN_HOME`` or the platform's config dir."""
    h = home()
    if h is not None:
        return h
    import platformdirs
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    """User data (kits, models, samples): ``$DRUMGAN_HOME`` or the platform's data dir."""
    h = home()
    if h is not None:
        return h
    import platformdirs
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def kits_dir() -> Path:
    """Where kits are saved and browsed: one folder per kit (``NAME/kit.yaml``)."""
    return data_dir() / "kits"


def user_mappings_dir() -> Path:
    """User mappings, including the copies MIDI learn writes (shipped files are never written)."""
    return config_dir() / "mappings"


def user_models_dir() -> Path:
    """User-trained models; used instead of the shipped ones when it holds a generator."""
    return data_dir() / "models"


def samples_dir() -> Path:
    """The user's sample folder (audio to analyse into pads; remote senders may read here)."""
    return data_dir() / "samples"


def training_data_dir() -> Path:
    """Training sets (``real.npz``, soft labels): ``$DRUMGAN_HOME/data``, the checkout's ``data/``
    in a source tree (where ``drumgan data build`` has always written), else the user data dir."""
    h = home()
    if h is not None:
        return h / "data"
    root = source_checkout()
    return root / "data" if root is not None else data_dir() / "data"


def runs_dir() -> Path:
    """Training runs (checkpoints, logs): next to the training data."""
    return training_data_dir().parent / "runs"


def training_data(name: str = "real.npz") -> Path:
    return training_data_dir() / name


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------------- models
def models_dir(override: str | Path | None = None) -> Path:
    """The models folder a command uses: ``override`` (``--models``), else the user's models
    when they include a generator, else the shipped ones."""
    if override:
        return Path(override).expanduser()
    user = user_models_dir()
    if (user / "generator.safetensors").is_file():
        return user
    return shipped_models_dir()


def model_file(name: str, override: str | Path | None = None) -> Path:
    """One model file (e.g. ``classifier.safetensors``): in ``override``, else the user's copy, else shipped."""
    if override:
        return Path(override).expanduser() / name
    user = user_models_dir() / name
    return user if user.is_file() else shipped_models_dir() / name


def models_out_dir() -> Path:
    """Where training writes models by default: the checkout's ``models/`` in a source tree
    (training there is how shipped weights are made), else the user's models folder."""
    if home() is None and source_checkout() is not None:
        return shipped_models_dir()
    return user_models_dir()


# ---------------------------------------------------------------------------------- names
def check_name(name: str, what: str = "kit") -> str:
    """``name`` if it is a plain name (letters, digits, space . _ + -, up to 64, not starting with
    '.'), else ValueError: names from remote senders must stay inside the user's directory."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise BadName(f"{what} name {name!r} not allowed: use letters, digits, space, . _ + - "
                         f"(up to 64, no '/' or '..')")
    return name


# ---------------------------------------------------------------------------------- kits
def user_kit_path(name: str) -> Path:
    """``kits_dir()/NAME/kit.yaml`` for a checked name (the file may not exist yet)."""
    return kits_dir() / check_name(name) / KIT_FILE


def _kit_names(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted((d.name for d in folder.iterdir() if (d / KIT_FILE).is_file() and _NAME_RE.match(d.name)),
                  key=str.lower)


def user_kits() -> list[str]:
    """Names of the user's saved kits, sorted case-insensitively."""
    return _kit_names(kits_dir())


def shipped_kits() -> list[str]:
    return _kit_names(shipped_kits_dir())


def all_kits() -> list[tuple[str, Path]]:
    """Browse order for next/previous kit: the user's kits, then shipped ones not shadowed."""
    user = user_kits()
    out = [(n, kits_dir() / n / KIT_FILE) for n in user]
    out += [(n, shipped_kits_dir() / n / KIT_FILE) for n in shipped_kits() if n not in user]
    return out


def resolve_kit(spec: str | Path) -> Path:
    """A kit as given on the command line: a ``kit.yaml`` path, a kit folder, a saved kit's
    name, or a shipped kit's name. Raises FileNotFoundError with what exists."""
    p = Path(spec).expanduser()
    if p.is_file():
        return p
    if p.is_dir() and (p / KIT_FILE).is_file():
        return p / KIT_FILE
    name = str(spec)
    if _NAME_RE.match(name) and ".." not in name:
        for folder in (kits_dir(), shipped_kits_dir()):
            cand = folder / name / KIT_FILE
            if cand.is_file():
                return cand
    known = ", ".join(n for n, _ in all_kits()) or "none"
    raise FileNotFoundError(f"kit '{spec}' not found: not a kit file or folder, and not a saved kit "
                            f"in {kits_dir()} (kits: {known}); save one live with /drumgan/kit/save NAME")


# ---------------------------------------------------------------------------------- mappings
def resolve_mapping(spec: str | Path) -> Path | None:
    """A mapping as given: a file path, else a user mapping by name, else a shipped one; None if none."""
    p = Path(spec).expanduser()
    if p.is_file():
        return p
    name = str(spec)
    for folder in (user_mappings_dir(), shipped_mappings_dir()):
        for cand in (folder / name, folder / f"{name}.yaml"):
            if cand.is_file() and cand.resolve().parent == folder.resolve():
                return cand
    return None


def mapping_names() -> list[str]:
    """Names a mapping can be given by: user mappings, then shipped ones."""
    names: list[str] = []
    for folder in (user_mappings_dir(), shipped_mappings_dir()):
        if folder.is_dir():
            names += [f.stem for f in sorted(folder.glob("*.yaml")) if f.stem not in names]
    return names


def is_shipped(path: str | Path) -> bool:
    """True when ``path`` lies inside the shipped (read-only) package data."""
    try:
        rp = Path(path).resolve()
    except OSError:
        return False
    return any(rp.is_relative_to(shipped_dir(k).resolve()) for k in SHIPPED_KINDS)


def learned_mapping_path(source: str | Path | None, name: str = "learned") -> Path:
    """Where MIDI learn saves for a mapping loaded from ``source``: the file itself when it is
    the user's own, else (a shipped mapping, or none) ``user_mappings_dir()/<stem>.yaml``,
    which then shadows the shipped one of that name."""
    if source is not None and not is_shipped(source):
        return Path(source)
    stem = Path(source).stem if source is not None else name
    return user_mappings_dir() / f"{check_name(stem, 'mapping')}.yaml"


# ---------------------------------------------------------------------------------- preflight
def missing(path: str | Path, run: str, what: str = "") -> str | None:
    """None when ``path`` exists, else the one line to print: what is missing and what to run."""
    if Path(path).exists():
        return None
    return f"{what + ' ' if what else ''}{path} not found: run '{run}' first"
