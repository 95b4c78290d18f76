"""Offline render: play a MIDI file through the live engine's mixer, sample-accurately.

Same Instrument, same RenderCore, same Mixer as ``drumgan live``; the renderer
runs synchronously between blocks, so the result is deterministic for a seed.
Each note-on starts at its exact sample (``Mixer.schedule`` with an in-block
offset), not at a block boundary.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..signal import SAMPLE_RATE
from .instrument import Instrument


@dataclass
class Hit:
    sample: int
    pad: int          # 1-based
    velocity: float


def load_note_map(mapping: str | Path | None) -> dict[int, int] | None:
    """note -> pad from a mapping file. Uses the control layer's loader when it exists,
    else reads a ``notes:`` table (``{36: 1, 38: 2}``) from YAML."""
    if mapping is None:
        return None
    try:  # the control layer owns the mapping format; use it when it is there
        from ..control import mapping as cm  # type: ignore[attr-defined]
        if hasattr(cm, "note_to_pad"):
            return dict(cm.note_to_pad(str(mapping)))
    except ImportError:
        pass
    import yaml
    doc = yaml.safe_load(Path(mapping).read_text()) or {}
    notes = doc.get("notes") if isinstance(doc, dict) else None
    if not isinstance(notes, dict):
        raise ValueError(f"{mapping}: no 'notes' table (note: pad) found")
    out = {}
    for k, v in notes.items():
        pad = v.get("pad") if isinstance(v, dict) else v
        out[int(k)] = int(pad)
    return out


def midi_hits(path: str | Path, note_to_pad, sample_rate: int = SAMPLE_RATE) -> list[Hit]:
    """Note-ons of a MIDI file as sample-exact hits (tempo map honoured by mido)."""
    import mido
    t = 0.0
    hits = []
    for msg in mido.MidiFile(str(path)):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            pad = note_to_pad(msg.note)
            if pad is not None:
                hits.append(Hit(int(round(t * sample_rate)), pad, msg.velocity / 127.0))
    return hits


def render_hits(inst: Instrument, hits: list[Hit], blocksize: int = 128, tail_s: float = 1.0) -> np.ndarray:
    """Run the mixer block by block, scheduling each hit at its offset. Returns [frames, 2]."""
    inst.wait_ready()
    hits = sorted(hits, key=lambda h: h.sample)
    end = (hits[-1].sample if hits else 0) + inst.ring.layout.buf_len + int(tail_s * inst.sample_rate)
    n_blocks = -(-end // blocksize)
    out = np.zeros((n_blocks * blocksize, 2), np.float32)
    i = 0
    for b in range(n_blocks):
        start = b * blocksize
        any_hit = False
        while i < len(hits) and hits[i].sample < start + blocksize:
            inst.mixer.schedule(hits[i].pad - 1, hits[i].velocity, hits[i].sample - start)
            i += 1
            any_hit = True
        inst.mixer.process(blocksize, out[start:start + blocksize])
        if any_hit:
            inst.renderer.service()     # refill played round-robin slots, as the live renderer does
    last = np.flatnonzero(np.any(out != 0.0, axis=1))
    return out[: (int(last[-1]) + 1 if last.size else 0)]


def render_midi(midi_path: str | Path, out_path: str | Path, *, kit=None, mapping=None, seed: int = 0,
                models_dir=None, random_model: bool | int = False, sample_rate: int = SAMPLE_RATE,
                blocksize: int = 128) -> dict:
    """``drumgan render``: MIDI file -> WAV through the engine. Returns a small report."""
    from ..audio_io import write_wav
    with Instrument(sample_rate=sample_rate, models_dir=models_dir, random_model=random_model, seed=seed,
                    kit=kit, synchronous=True) as inst:
        nmap = load_note_map(mapping)
        lookup = (lambda n: nmap.get(n)) if nmap is not None else inst.pad_for_note
        hits = midi_hits(midi_path, lookup, sample_rate)
        audio = render_hits(inst, hits, blocksize)
        write_wav(out_path, audio, sample_rate)
        return {"hits": len(hits), "seconds": audio.shape[0] / sample_rate, "model_hash": inst.model_hash,
                "peak": float(np.max(np.abs(audio))) if audio.size else 0.0, "out": str(out_path)}
