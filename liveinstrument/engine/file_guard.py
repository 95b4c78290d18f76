"""What a remote sender may make the instrument read: only regular audio files, inside
the allowed folders (the user's sample and kit folders plus any ``--allow-dir``), of a
bounded size. A FIFO, a device or ``../../etc/shadow`` is one refused line, never a read."""
from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_BYTES = 64 * 1024 * 1024      # a one-shot is 0.55 s; 64 MB is minutes of 32-bit stereo
MAX_PATH = 4096


class RefusedPath(ValueError):
    """The path may not be read; the message says why and what to do."""


def default_allowed() -> list[Path]:
    from .. import paths
    return [paths.samples_dir(), paths.kits_dir()]


def check_readable(path: str, allowed: list[Path]) -> Path:
    """The resolved path when a sender may have it read, else :class:`RefusedPath`."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH or "\0" in path:
        raise RefusedPath("not a usable file path")
    real = Path(os.path.realpath(os.path.expanduser(path)))
    roots = [Path(os.path.realpath(a)) for a in allowed]
    if not any(real == r or r in real.parents for r in roots):
        raise RefusedPath(f"{path}: outside the allowed folders ({', '.join(map(str, roots))}); "
                          "put the file there or start with --allow-dir DIR")
    try:
        st = os.stat(real)
    except OSError as exc:
        raise RefusedPath(f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise RefusedPath(f"{path}: not a regular file")
    if st.st_size > MAX_BYTES:
        raise RefusedPath(f"{path}: {st.st_size // 2**20} MB is over the {MAX_BYTES // 2**20} MB limit "
                          "for a one-shot")
    return real


def check_writable(path: str | Path, allowed: list[Path], *, folder: bool = False) -> Path:
    """The resolved ``path`` when the instrument may write it (a file, or with ``folder`` a
    directory to write files into), else :class:`RefusedPath`: it must resolve (links
    followed) inside one of ``allowed``, and what is already there must be a regular file
    (a directory with ``folder``), never a FIFO, a device or a link out of the folder."""
    p = str(path)
    if not p or len(p) > MAX_PATH or "\0" in p:
        raise RefusedPath("not a usable file path")
    real = Path(os.path.realpath(os.path.expanduser(p)))
    roots = [Path(os.path.realpath(a)) for a in allowed]
    if not any(real == r or r in real.parents for r in roots):
        raise RefusedPath(f"{path}: outside the folders the instrument writes to "
                          f"({', '.join(map(str, roots))})")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real
    except OSError as exc:
        raise RefusedPath(f"{path}: {exc.strerror}") from None
    ok = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
    if not ok:
        raise RefusedPath(f"{path}: not a {'folder' if folder else 'regular file'}")
    return real
