"""Plain WAV export: one file per pad, its main sound at full velocity (``p01_kick.wav``)."""
from __future__ import annotations

from pathlib import Path

from .render import PadSamples


def export_wavs(pads: list[PadSamples], out_dir: str | Path, header: dict) -> Path:
    """Write ``OUT/<pad slug>.wav`` for each pad (its first take of the top layer); returns OUT."""
    from ..audio_io import write_wav
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for ps in pads:
        write_wav(out / f"{ps.slug}.wav", ps.layers[-1].takes[0], int(header["sample_rate"]))
    return out
