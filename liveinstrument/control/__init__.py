"""Performer control: MIDI (mido + python-rtmidi), OSC (python-osc), mappings, MIDI learn.

The entry point is :class:`liveinstrument.control.surfaces.ControlSurfaces`;
:func:`start_controls` is the one-call form the engine CLI uses. Submodules are imported on
use so ``import liveinstrument.control`` stays cheap.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    from liveinstrument.control.surfaces import ControlSurfaces
    from liveinstrument.engine.commands import InstrumentControls


def start_controls(controls: "InstrumentControls", *, midi_in: Sequence[str] | str | None = None,
                   osc_host: str = "127.0.0.1", osc_port: int | None = 9000,
                   mapping: str | Path | None = None, osc_allow: Iterable[str] | None = None,
                   midi_api: str = "auto", jack_server: str | None = None) -> "ControlSurfaces":
    """Start MIDI (when ``midi_in`` is given) and OSC (unless ``osc_port`` is None or < 0) on
    ``controls`` with ``mapping`` (default gm-default); returns the running ControlSurfaces
    (``close()`` / ``stop()`` ends them). Raises MappingError, MidiPortError or OSError."""
    from liveinstrument.control.mapping import DEFAULT_MAPPING
    from liveinstrument.control.surfaces import ControlSurfaces
    port = None if osc_port is None or osc_port < 0 else osc_port
    return ControlSurfaces(controls, mapping or DEFAULT_MAPPING, midi_in=midi_in, midi_api=midi_api,
                           osc_port=port, osc_host=osc_host, osc_allow=osc_allow,
                           jack_server=jack_server).start()
