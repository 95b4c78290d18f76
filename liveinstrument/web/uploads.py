"""Audio dropped on a pad: bytes -> mono float32 at the engine's rate, or a one-line refusal."""
from __future__ import annotations

import io

import numpy as np

MAX_UPLOAD_BYTES = 8 * 1024 * 1024       # a one-shot is ~0.1-5 MB; this is a generous ceiling
MAX_SECONDS = 30.0                       # a pad keeps the first 0.55 s; longer files are refused


class UploadError(ValueError):
    """Bytes that are not usable audio; the message says why."""


def decode_audio(data: bytes) -> tuple[np.ndarray, int]:
    """Decode WAV/FLAC/AIFF/OGG bytes (soundfile) to (mono float32, its sample rate)."""
    import soundfile as sf
    from liveinstrument.audio_io import to_mono
    if not data:
        raise UploadError("empty file")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            if f.frames > MAX_SECONDS * f.samplerate:
                raise UploadError(f"{f.frames / f.samplerate:.1f} s long: drop a one-shot "
                                  f"(up to {MAX_SECONDS:.0f} s)")
            x, rate = f.read(dtype="float32", always_2d=True), f.samplerate
    except UploadError:
        raise
    except Exception as exc:  # soundfile raises several types for non-audio bytes
        raise UploadError(f"not an audio file soundfile can read (WAV, FLAC, AIFF, OGG): "
                          f"{exc.__class__.__name__}") from None
    if x.shape[0] == 0:
        raise UploadError("contains no audio frames")
    y = np.nan_to_num(to_mono(x), nan=0.0, posinf=0.0, neginf=0.0)
    if not np.any(np.abs(y) > 1e-5):
        raise UploadError("silent: nothing to analyse")
    return y, int(rate)
