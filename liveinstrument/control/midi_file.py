"""MIDI files through the live control path: ``drumgan render`` and the demo groove.

Every message of the file goes through the same :class:`MidiRouter` as a live port (the
mapping's channels, velocity curve, CCs, actions all apply), stamped with its sample time
(tempo map honoured by mido), into the same core as ``drumgan live``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from liveinstrument.control.common import Selection, Stats
from liveinstrument.control.mapping import DEFAULT_MAPPING, Mapping, load_mapping
from liveinstrument.control.midi_in import MidiRouter
from liveinstrument.engine.instrument import Instrument
from liveinstrument.engine.offline import render_timed


def timed_messages(path: str | Path, sample_rate: int) -> list[tuple[int, bytes]]:
    """(sample, message bytes) for every channel message of a MIDI file, in time order."""
    import mido
    t = 0.0
    out = []
    for msg in mido.MidiFile(str(path)):
        t += msg.time
        if not msg.is_meta and msg.type != "sysex":
            out.append((int(round(t * sample_rate)), bytes(msg.bytes())))
    return out


def render_with_router(inst: Instrument, router: MidiRouter, messages: list[tuple[int, bytes]],
                       blocksize: int = 128) -> np.ndarray:
    """Feed ``messages`` (sample, bytes) through ``router`` into ``inst``'s core. Returns [frames, 2]."""
    t0 = inst.mixer.now_frame()
    pos = [0]

    def feed_until(end: int) -> int:
        n0 = router.stats["note_on"]
        while pos[0] < len(messages) and t0 + messages[pos[0]][0] < end:
            s, data = messages[pos[0]]
            router.feed(data, at=t0 + s)
            pos[0] += 1
        return router.stats["note_on"] - n0

    return render_timed(inst, feed_until, messages[-1][0] if messages else 0, blocksize)


def render_midi(midi_path: str | Path, out_path: str | Path, *, kit=None, mapping: str | Path | Mapping | None = None,
                seed: int = 0, models_dir=None, random_model: bool | int = False, sample_rate: int = 44_100,
                blocksize: int = 128) -> dict:
    """``drumgan render``: MIDI file -> WAV through the router and the engine. Returns a small report."""
    from liveinstrument.audio_io import write_wav
    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping or DEFAULT_MAPPING)
    messages = timed_messages(midi_path, sample_rate)
    with Instrument(sample_rate=sample_rate, models_dir=models_dir, random_model=random_model, seed=seed,
                    kit=kit, synchronous=True) as inst:
        router = MidiRouter(inst, m, Selection(inst.n_pads), Stats())
        audio = render_with_router(inst, router, messages, blocksize)
        write_wav(out_path, audio, sample_rate)
        return {"hits": inst.mixer.hits, "seconds": audio.shape[0] / sample_rate, "model_hash": inst.model_hash,
                "peak": float(np.max(np.abs(audio))) if audio.size else 0.0, "out": str(out_path),
                "midi": router.stats.snapshot()}
