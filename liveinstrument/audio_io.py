"""Reading and writing audio files: any rate, channel count and format soundfile knows."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .signal import SAMPLE_RATE

AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".wave")


class AudioFileError(ValueError):
    """A file that cannot be used as audio; the message says why and what to do."""


def resample(x: np.ndarray, sr_in: int, sr_out: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling along the last axis (exact rational ratio)."""
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    ratio = Fraction(sr_out, sr_in).limit_denominator(10_000)
    y = resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)
    return y.astype(np.float32)


def to_mono(x: np.ndarray) -> np.ndarray:
    """Downmix [frames, channels] (or [frames]) to [frames] by averaging channels."""
    x = np.asarray(x, dtype=np.float32)
    return x.mean(axis=1) if x.ndim == 2 else x


def load_audio(path: str | Path, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, int]:
    """Load ``path`` as mono float32 at ``sr``. Returns (audio, original_rate).

    Raises AudioFileError with a one-line reason for missing, unreadable,
    empty or non-finite files.
    """
    p = Path(path)
    try:
        exists = p.exists()
    except OSError as exc:      # a name too long for the file system, a path loop
        raise AudioFileError(f"{str(p)[:60]}...: {exc.strerror}") from None
    if not exists:
        raise AudioFileError(f"{p}: no such file")
    if p.is_dir():
        raise AudioFileError(f"{p}: is a directory, expected an audio file")
    try:
        data, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for bad input
        raise AudioFileError(f"{p}: not a readable audio file ({exc.__class__.__name__}: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'unknown'})") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{p}: contains no audio frames")
    x = to_mono(data)
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return resample(x, rate, sr), int(rate)


def write_wav(path: str | Path, audio: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    """Write float audio ([frames] or [frames, channels]) as 24-bit WAV, clipped to full scale."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    a = np.clip(np.nan_to_num(np.asarray(audio, dtype=np.float32)), -1.0, 1.0)
    sf.write(str(p), a, sr, subtype="PCM_24")


def iter_audio_files(paths) -> list[Path]:
    """Expand files and folders (recursively) into a sorted list of audio files."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        try:
            is_dir = p.is_dir()
        except OSError:         # e.g. a name too long for the file system: its load says so
            is_dir = False
        if is_dir:
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in AUDIO_SUFFIXES))
        else:
            out.append(p)
    return out


def load_one_shot(path: str | Path, silence_dbfs: float = -70.0) -> np.ndarray:
    """Load any audio file as a model-ready one-shot: mono, 44.1 kHz, onset at 0,
    N_SAMPLES long with fades, peak-normalised. Raises AudioFileError for silence."""
    from .signal import fit_one_shot, peak_normalize

    x, _ = load_audio(path)
    if float(np.max(np.abs(x))) < 10 ** (silence_dbfs / 20):
        raise AudioFileError(f"{path}: silent (peak below {silence_dbfs:.0f} dBFS), nothing to analyse")
    return peak_normalize(fit_one_shot(x))


def iter_one_shots(paths, prog: str):
    """Yield (path, one-shot) for every audio file under ``paths``. A file that cannot be
    used is reported on stderr in one line (``prog: reason``) and skipped; the caller
    reads ``.failed`` afterwards for its exit code."""
    import sys

    class _Iter:
        failed = 0

        def __iter__(self):
            for path in iter_audio_files(paths):
                try:
                    shot = load_one_shot(path)
                except AudioFileError as exc:
                    print(f"{prog}: {exc}", file=sys.stderr)
                    self.failed += 1
                    continue
                yield path, shot

    return _Iter()
