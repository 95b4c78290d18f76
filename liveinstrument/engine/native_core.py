"""Load the C real-time core (``native/``) and declare its functions for ctypes.

The wheel (and ``pip install``) builds ``liveinstrument.engine._rtcore`` with setuptools;
this module finds that shared object through its import and opens it with ctypes. A
source checkout without a build (or with a build older than the sources) compiles the
same C files once with the system compiler into the user's cache directory, so a fresh
clone runs without ``pip install``. ctypes calls release the GIL; only control threads call
in (the audio thread runs the C code directly, called by PortAudio or JACK).
"""
from __future__ import annotations

import ctypes as C
import hashlib
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

ABI = 4                                   # rtcore.h RT_ABI
SRC_DIR = Path(__file__).with_name("native")
SOURCES = ("rtcore.c", "jack_backend.c")
CFLAGS = ["-O2", "-std=gnu11", "-fPIC"]
LIBS = ["-ldl", "-lm", "-lpthread"]

# stats indices (rtcore.h)
(ST_FRAMES, ST_HITS, ST_STEALS, ST_CHOKES, ST_NOT_READY, ST_HARD_KILLS, ST_NONFINITE, ST_CALLBACKS,
 ST_XRUNS, ST_SPLITS, ST_LATE, ST_EVENTS, ST_INPUT_OVERFLOWS, ST_POLICY, ST_LAT_N, ST_MIDI_IN,
 ST_MIDI_DROPPED, ST_JACK_XRUNS, ST_VOICES, ST_SOUNDING, ST_PENDING_FULL, ST_BLOCK) = range(22)
ST_N = 32
PR_AMP, PR_PAN_L, PR_PAN_R, PR_VT, PR_CHOKE, PR_N = range(6)
N_TIMINGS = 65536
N_LAT = 256
RING_HDR_BYTES = 192
EVENT_BYTES = 32
MIDI_BYTES = 16


class NativeCoreError(RuntimeError):
    """The C core could not be loaded or built; the message says what to install."""


class Config(C.Structure):
    _fields_ = [("n_pads", C.c_int), ("n_slots", C.c_int), ("n_bufs", C.c_int), ("buf_len", C.c_int),
                ("max_voices", C.c_int), ("max_block", C.c_int), ("per_pad_outputs", C.c_int),
                ("sample_rate", C.c_double), ("velocity_curve", C.c_double)]


_P = C.c_void_p


class Shared(C.Structure):
    _fields_ = [(n, _P) for n in ("audio", "hdr", "fb", "events", "params", "seq", "map", "lens", "meta",
                                  "stats", "durations", "lat", "limiter_gain", "last_hit_frame")]


class MidiRec(C.Structure):
    _fields_ = [("frame", C.c_int64), ("len", C.c_uint8), ("data", C.c_uint8 * 3), ("_r", C.c_int32)]


def _source_hash() -> str:
    h = hashlib.sha256()
    for name in ("rtcore.h", *SOURCES):
        h.update((SRC_DIR / name).read_bytes())
    h.update(" ".join(CFLAGS).encode())
    return h.hexdigest()[:16]


def _built_extension() -> str | None:
    try:
        from . import _rtcore  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _rtcore.__file__


def _compile_to_cache() -> str:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "drumgan-live"
    out = cache / f"rtcore-{_source_hash()}.so"
    if out.exists():
        return str(out)
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None or not (SRC_DIR / "rtcore.c").exists():
        raise NativeCoreError("the real-time core is not built and no C compiler was found: install gcc "
                              "(scripts/install-system-deps.sh) and run 'pip install .'")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    cmd = [cc, *CFLAGS, "-shared", *(str(SRC_DIR / s) for s in SOURCES), "-o", str(tmp), *LIBS]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise NativeCoreError(f"building the real-time core failed ({' '.join(cmd)}):\n{res.stderr[-2000:]}")
    os.replace(tmp, out)                  # atomic: a parallel build never sees half a file
    return str(out)


def _declare(lib: C.CDLL) -> C.CDLL:
    i64, i32, dbl, flt = C.c_int64, C.c_int, C.c_double, C.c_float
    sig = {
        "rt_abi": (i32, []),
        "rt_create": (_P, [C.POINTER(Config), C.POINTER(Shared)]),
        "rt_destroy": (None, [_P]),
        "rt_render_interleaved": (None, [_P, _P, i64, i32, i64]),
        "rt_process": (None, [_P, _P, i64, i32]),
        "rt_adopt": (None, [_P]),
        "rt_now_frame": (i64, [_P]),
        "rt_set_input": (None, [_P, _P, _P, i64, i32]),
        "rt_set_pa_channels": (None, [_P, i32, i32]),
        "rt_ring_init": (None, [_P, i64, i64]),
        "rt_ev_push": (i32, [_P, i64, i32, i32, flt, dbl]),
        "rt_midi_pop": (i64, [_P, _P, i64]),
        "rt_seq_publish": (None, [_P, i32, _P, i32, i64, i64, i32, i32]),
        "rt_jack_open": (_P, [_P, C.c_char_p, C.c_char_p, i32, i32, _P, C.c_char_p, i32]),
        "rt_jack_connect": (i32, [_P, C.c_char_p, C.c_char_p]),
        "rt_jack_port_name": (C.c_char_p, [_P, i32]),
        "rt_jack_rate": (i32, [_P]),
        "rt_jack_period": (i32, [_P]),
        "rt_jack_alive": (i32, [_P]),
        "rt_jack_quiet": (None, [i32]),
        "rt_midi_wait": (i32, [_P, i32]),
        "rt_jack_close": (None, [_P]),
        "rt_clock_ns": (i64, []),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


@lru_cache(maxsize=1)
def lib() -> C.CDLL:
    """The loaded core (built extension if current, else a cached build of the sources)."""
    path = _built_extension()
    if path is not None:
        core = C.CDLL(path)
        if core.rt_abi() == ABI and not _sources_newer(path):
            return _declare(core)
    return _declare(C.CDLL(_compile_to_cache()))


def _sources_newer(path: str) -> bool:
    """An in-place (editable) build older than the C sources it came from is stale; an
    installed copy (no setup.py above it) is what its wheel built."""
    if not (SRC_DIR.parents[2] / "setup.py").exists():
        return False
    built = os.path.getmtime(path)
    return any((SRC_DIR / s).stat().st_mtime > built for s in ("rtcore.h", *SOURCES))


def pa_callback_address() -> int:
    """Address of ``rt_pa_callback``, the function PortAudio calls for each block."""
    return C.cast(lib().rt_pa_callback, C.c_void_p).value


def addr(a) -> int:
    """Address of a numpy array's data (the array must outlive every use of the pointer)."""
    return a.ctypes.data


if __name__ == "__main__":       # `python -m liveinstrument.engine.native_core`: build/check
    print(lib()._name)
    sys.exit(0)
