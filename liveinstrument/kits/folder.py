"""A folder of one-shots -> a playable neural kit (``drumgan kit from-folder``).

Each sound is encoded by E (plus ``refine`` analysis-by-synthesis steps), so its pad
is a point (z_center, c) of the generator with the usual variation controls: the
variation slider and its directions e1/e2, and round-robin, which plays a fresh
small variation around it on every hit. Sounds are ordered by class (the shipped
classifier: kicks, then snares, then cymbals; the most confident first) and laid on
General MIDI notes of their class. The kit is written in the instrument's own
format (``engine.state.save_kit``), its pads rendered by the instrument itself, and
each source sound is kept with it as the pad's captured audio.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..signal import CLASSES

# GM notes per class, most idiomatic first; overflow takes the next free note from 35 up.
CLASS_NOTES = {"kick": (36, 35), "snare": (38, 40, 37, 39),
               "cymbal": (42, 46, 44, 49, 51, 57, 52, 55, 53, 59)}


@dataclass
class Analysed:
    path: Path
    shot: np.ndarray          # the model-ready one-shot (44.1 kHz, N samples)
    z: np.ndarray             # [128]
    c: np.ndarray             # [3] E's soft classes
    probs: np.ndarray         # [3] the classifier's


def assign_notes(classes: list[str]) -> list[int]:
    """A GM note for each sound in order, from its class's pool, never one note twice."""
    used: set[int] = set()
    notes = []
    for cls in classes:
        note = next((n for n in CLASS_NOTES[cls] if n not in used), None)
        if note is None:
            note = next(n for n in range(35, 128) if n not in used)
        used.add(note)
        notes.append(note)
    return notes


def order_by_class(items: list[Analysed]) -> list[Analysed]:
    """Kicks, snares, cymbals (the classifier's argmax), most confident first, then by name."""
    return sorted(items, key=lambda a: (int(np.argmax(a.probs)), -float(np.max(a.probs)), a.path.name))


def analyse_folder(folder: str | Path, synth, classifier, refine: int = 20,
                   on_file: Callable[[Path, str | None], None] | None = None) -> tuple[list[Analysed], int]:
    """Encode every audio file under ``folder``. ``on_file(path, error)`` is called once per
    file (error None when it loaded). Returns (analysed sounds, number of bad files)."""
    from ..audio_io import AudioFileError, iter_audio_files, load_one_shot
    good, bad = [], 0
    for path in iter_audio_files([folder]):
        try:
            shot = load_one_shot(path)
        except AudioFileError as exc:
            bad += 1
            if on_file:
                on_file(path, str(exc))
            continue
        z, c = synth.encode(shot[None], refine_steps=refine)
        probs = classifier.probs(shot[None])[0]
        good.append(Analysed(Path(path), shot, z[0].astype(np.float32), c[0].astype(np.float32),
                             np.asarray(probs, np.float32)))
        if on_file:
            on_file(path, None)
    return good, bad


def kit_pads(sounds: list[Analysed], round_robin: float = 0.25, seed: int = 0) -> list:
    """One Pad per sound (already ordered): E's (z, c), random variation directions, GM note."""
    from ..engine.state import Pad, random_directions
    rng = np.random.default_rng(seed)
    notes = assign_notes([CLASSES[int(np.argmax(s.probs))] for s in sounds])
    pads = []
    for s, note in zip(sounds, notes):
        e1, e2 = random_directions(rng)
        pads.append(Pad(name=s.path.stem, note=note, kick=float(s.c[0]), snare=float(s.c[1]),
                        cymbal=float(s.c[2]), round_robin=float(round_robin), seed=int(rng.integers(2**31)),
                        z_center=s.z.copy(), e1=e1, e2=e2))
    return pads


def write_kit(out: str | Path, sounds: list[Analysed], synth, round_robin: float = 0.25,
              seed: int = 0) -> Path:
    """Save the kit, then open it in the instrument and save it again with every pad's
    rendered slots, so it plays as made tomorrow whatever weights are installed."""
    from ..engine.instrument import Instrument
    from ..engine.state import save_kit
    pads = kit_pads(sounds, round_robin, seed)
    path = save_kit(out, pads, synth.model_hash, {}, captured={i: s.shot for i, s in enumerate(sounds)})
    with Instrument(kit=path, synchronous=True, synth=synth) as inst:
        if not inst.wait_ready(120.0):
            raise RuntimeError("the instrument did not render the new kit's pads")
        return inst.save_kit(path)
