"""Kit names from the page -> files inside the user's kit directory, and nowhere else.

The page only ever sends a kit *name*; this module turns it into ``KIT_DIR/NAME/kit.yaml``
after checking the name is plain (no separators, no '..') and that the resolved path is
still inside the directory (a symlink cannot lead out either).
"""
from __future__ import annotations

import re
from pathlib import Path

KIT_FILE = "kit.yaml"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,63}$")


class BadKitName(ValueError):
    """A kit name that is not a plain name inside the kit directory."""


def default_kit_dir() -> Path:
    """The user's kit directory (liveinstrument.paths when present)."""
    try:
        from liveinstrument import paths
        return paths.kits_dir()
    except ImportError:  # before the paths module: the same XDG location it uses
        import os
        base = os.environ.get("DRUMGAN_HOME") or os.path.join(
            os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "drumgan")
        return Path(base) / "kits"


def kit_path(kit_dir: Path, name: object) -> Path:
    """``kit_dir/NAME/kit.yaml`` for a plain name, else :class:`BadKitName` saying what is allowed."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise BadKitName(f"kit name {str(name)[:80]!r} not allowed: letters, digits, space and . _ + - "
                         f"(up to 64, no '/' or '..')")
    root = kit_dir.resolve()
    p = (root / name / KIT_FILE).resolve()
    if not p.is_relative_to(root):
        raise BadKitName(f"kit {name!r} leads outside the kit directory")
    return p


def list_kits(kit_dir: Path) -> list[str]:
    """Names of the saved kits (folders holding a kit.yaml), sorted case-insensitively."""
    if not kit_dir.is_dir():
        return []
    return sorted((d.name for d in kit_dir.iterdir() if _NAME_RE.match(d.name) and (d / KIT_FILE).is_file()),
                  key=str.lower)
