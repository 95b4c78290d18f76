"""The contract between control surfaces (MIDI, OSC, status view, capture) and the engine.

Control code never touches engine internals: it calls these methods on an object
satisfying :class:`InstrumentControls`. Every method is cheap, thread-safe, never
raises on bad values (it clamps or ignores and counts), and never blocks on the
renderer. Pads are numbered from 1 (what a performer sees), up to ``n_pads``.
"""
from __future__ import annotations

from typing import Callable, Protocol

# Continuous per-pad parameters, all set with a float in 0..1 (TouchOSC style):
PAD_PARAMS: tuple[str, ...] = (
    "kick", "snare", "cymbal",   # soft classes, independent sliders
    "variation",                 # intensity alpha (0..1 mapped to the measured alpha range)
    "variation_y",               # beta along e2, for the XY mode (0.5 = centre)
    "tune",                      # pitch, 0.5 = unchanged, 0..1 -> -12..+12 semitones
    "decay",                     # envelope, 1 = full length
    "pan",                       # 0 left, 0.5 centre, 1 right
    "gain",                      # per-pad gain, 0..1 -> -inf..+6 dB (0.8 ~ 0 dB)
    "velocity_timbre",           # how much velocity moves the timbre (0 = gain only)
    "round_robin",               # amount of per-hit variation (0 = off)
)
GLOBAL_PARAMS: tuple[str, ...] = ("master",)

# One-shot actions on a pad:
PAD_ACTIONS: tuple[str, ...] = (
    "generate",          # draw a new z_center
    "new_direction",     # draw new e1 (and e2)
    "capture",           # arm audio-input capture for this pad
)
# Actions on the whole instrument, run with ``action(0, name)`` (the pad is ignored):
INSTRUMENT_ACTIONS: tuple[str, ...] = (
    "kit_save",          # save the current kit (under its name; a new name if it has none)
    "kit_save_as",       # save under a new, dated name, which becomes the current kit
    "kit_next",          # load the next kit (user kits, then shipped ones, wrapping)
    "kit_prev",          # load the previous kit
    "undo",              # take back the last generate or analyze
)


class InstrumentControls(Protocol):
    n_pads: int

    def trigger(self, pad: int, velocity: float, at: int | None = None) -> None:
        """Play pad (1-based); velocity in 0..1 (MIDI velocity / 127). ``at``: sample time on the
        engine's clock (MIDI files, JACK MIDI); None = on arrival (the engine's timing mode)."""

    def release(self, pad: int) -> None:
        """Note-off (ignored by one-shots unless the pad is set to gate)."""

    def set_param(self, pad: int, name: str, value: float) -> None:
        """Set a PAD_PARAMS value (0..1) on a pad; pad 0 means every pad."""

    def set_global(self, name: str, value: float) -> None:
        """Set a GLOBAL_PARAMS value (0..1)."""

    def action(self, pad: int, name: str) -> None:
        """Run a PAD_ACTIONS action on a pad."""

    def analyze_file(self, pad: int, path: str) -> None:
        """Load an audio file, encode it with E and set the pad from it (async)."""

    def state(self) -> dict:
        """A JSON-able snapshot: pads with their parameter values, counters."""

    def save_kit_named(self, name: str | None = None, *, new: bool = False) -> bool:
        """Save the kit under ``name`` (a plain name, confined to the user's kit folder; None =
        the current kit's), in the background. False for a bad name."""

    def load_kit_named(self, name: str) -> bool:
        """Load a saved or shipped kit by name, in the background. False for a bad/unknown name."""

    def subscribe(self, callback: Callable[[int, str, float], None]) -> None:
        """Call ``callback(pad, name, value)`` (off the audio thread) whenever a value changes,
        so OSC clients' faders can follow MIDI moves."""
