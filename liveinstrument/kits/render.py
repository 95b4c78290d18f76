"""A kit's pads rendered as sampler material: velocity layers x round-robin variations.

Every sample is one hit played through the instrument itself (``Instrument`` with
the synchronous renderer, hits scheduled into its ``Mixer`` by
``engine.offline.render_hits``), so an exported sample is what the pad sounds like
live at that velocity: the pad's tune, decay, gain, pan and velocity -> timbre
applied, and each further hit a fresh round-robin variation from the renderer, as
on stage. Nothing here re-implements the DSP.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..signal import SAMPLE_RATE


@dataclass
class Layer:
    """One velocity layer: MIDI velocities ``lo..hi`` (1..127) and its round-robin takes."""
    lo: int
    hi: int
    takes: list[np.ndarray] = field(default_factory=list)     # stereo float32 [frames, 2]


@dataclass
class PadSamples:
    pad: int              # 1-based
    name: str
    note: int
    choke: int            # 0 = none
    layers: list[Layer]

    @property
    def slug(self) -> str:
        """File-name stem: ``p01_kick`` (ASCII letters, digits and dashes only)."""
        s = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "pad"
        return f"p{self.pad:02d}_{s[:24]}"


def velocity_ranges(n_layers: int) -> list[tuple[int, int]]:
    """Split MIDI velocities 1..127 into ``n_layers`` contiguous, non-overlapping ranges."""
    n = max(1, min(int(n_layers), 127))
    his = [round(127 * (k + 1) / n) for k in range(n)]
    return [((his[k - 1] + 1) if k else 1, his[k]) for k in range(n)]


def render_kit(kit: str | Path, *, layers: int = 3, variations: int = 4, sample_rate: int = SAMPLE_RATE,
               models_dir=None, pads: list[int] | None = None,
               progress: Callable[[int, int], None] | None = None) -> tuple[list[PadSamples], dict]:
    """Play every pad of ``kit`` at each layer's top velocity, ``variations`` times (once
    for a pad whose round-robin is 0). Returns the pads' samples and the kit's header
    (model hash, sample rate). ``progress(done, total)`` is called after each hit."""
    from ..engine.instrument import Instrument
    from ..engine.offline import Hit, render_hits

    ranges = velocity_ranges(layers)
    out: list[PadSamples] = []
    with Instrument(kit=kit, synchronous=True, models_dir=models_dir, sample_rate=sample_rate) as inst:
        st = inst.state()
        chosen = pads or list(range(1, inst.n_pads + 1))
        plan = [(p, 1 if st["pads"][p - 1]["round_robin"] <= 0 else max(1, int(variations))) for p in chosen]
        total, done = sum(len(ranges) * k for _, k in plan), 0
        for p, k in plan:
            info = st["pads"][p - 1]
            ps = PadSamples(p, str(info["name"]), int(info["note"]), int(info["choke"]), [])
            # loudest layer first: a pad's first hit plays its main sound (round-robin slot 0),
            # so the top layer's first take is the pad exactly as saved; each later hit is the
            # next round-robin variation, as on stage
            for lo, hi in reversed(ranges):
                layer = Layer(lo, hi)
                for _ in range(k):
                    # each hit alone; the 1 s of silence after it lets the output limiter (150 ms
                    # release) recover, so a loud take does not duck the next one
                    hit = render_hits(inst, [Hit(0, p, hi / 127.0)], tail_s=1.0)
                    layer.takes.append(np.ascontiguousarray(hit, np.float32))
                    done += 1
                    if progress:
                        progress(done, total)
                ps.layers.insert(0, layer)
            out.append(ps)
        header = {"model_hash": inst.model_hash, "sample_rate": inst.sample_rate}
    return out, header


def write_takes(pads: list[PadSamples], folder: Path, sample_rate: int) -> dict[tuple[int, int, int], str]:
    """Write every take as 24-bit WAV under ``folder``; returns (pad, layer, take) -> file name."""
    from ..audio_io import write_wav
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for ps in pads:
        for li, layer in enumerate(ps.layers):
            for ti, take in enumerate(layer.takes):
                fn = f"{ps.slug}_v{li + 1}_rr{ti + 1}.wav"
                write_wav(folder / fn, take, sample_rate)
                names[(ps.pad, li, ti)] = fn
    return names
