"""ControlSurfaces: MIDI + OSC + MIDI learn around one InstrumentControls, for the engine CLI.

    surfaces = ControlSurfaces(instrument, mapping="gm-default", midi_in=["virtual"],
                               osc_port=9000).start()
    ...
    surfaces.stop()

or from argparse: ``add_control_arguments(parser)`` then ``ControlSurfaces.from_args(instrument, args)``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable, Sequence

from liveinstrument.engine.commands import InstrumentControls
from liveinstrument.control.common import Selection, Stats, log
from liveinstrument.control.learn import MidiLearn
from liveinstrument.control.mapping import DEFAULT_MAPPING, Mapping, load_mapping
from liveinstrument.control.midi_in import MidiInput, MidiRouter
from liveinstrument.control.osc_server import OscServer


class ControlSurfaces:
    """Starts and stops the performer's control inputs.

    ``mapping``: a Mapping, a file path, or a shipped mapping's name.
    ``midi_in``: port specs, each ``virtual`` (create ``<client>:midi_in``), ``virtual:NAME``,
    or a substring of an existing port's name; empty = no MIDI. ``midi_api``: auto|alsa|jack.
    ``osc_port``: None = no OSC, 0 = any free port. ``osc_host``: 127.0.0.1 unless a tablet
    on the LAN needs ``0.0.0.0``; ``osc_allow``: sender IPs/networks accepted (all if empty).
    ``learn_path``: where MIDI learn saves (default: the mapping's own file).
    ``start()`` raises MidiPortError / OSError / MappingError with a message for the user,
    and leaves nothing open when it does.
    """

    def __init__(self, controls: InstrumentControls, mapping: Mapping | str | Path = DEFAULT_MAPPING, *,
                 midi_in: Sequence[str] | str | None = None, midi_api: str = "auto",
                 osc_port: int | None = 9000, osc_host: str = "127.0.0.1",
                 osc_allow: Iterable[str] | None = None, jack_server: str | None = None,
                 client_name: str = "drumgan", learn_path: Path | str | None = None) -> None:
        self.controls = controls
        self.mapping = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
        self.selection = Selection(int(getattr(controls, "n_pads", 16)))
        self.midi_stats, self.osc_stats = Stats(), Stats()
        self.router = MidiRouter(controls, self.mapping, self.selection, self.midi_stats)
        self.learn = MidiLearn(self.router, learn_path if learn_path is not None else self.mapping.source)
        specs = [midi_in] if isinstance(midi_in, str) else list(midi_in or [])
        self.midi_inputs = [_midi_input(self.router, s, midi_api, client_name, jack_server, i)
                            for i, s in enumerate(specs) if s]
        self.osc: OscServer | None = None
        if osc_port is not None:
            self.osc = OscServer(controls, self.mapping, host=osc_host, port=osc_port,
                                 allow=osc_allow, selection=self.selection,
                                 learn=self.learn if self.midi_inputs else None, stats=self.osc_stats)

    @classmethod
    def from_args(cls, controls: InstrumentControls, args: argparse.Namespace) -> "ControlSurfaces":
        """Build from the options :func:`add_control_arguments` defines."""
        return cls(controls, args.mapping, midi_in=args.midi_in, midi_api=args.midi_api,
                   osc_port=None if args.osc_port < 0 else args.osc_port, osc_host=args.osc_host,
                   osc_allow=args.osc_allow, jack_server=args.jack_server)

    def start(self) -> "ControlSurfaces":
        try:
            for m in self.midi_inputs:
                m.open()
            if self.osc is not None:
                self.osc.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for m in self.midi_inputs:
            try:
                m.close()
            except Exception:
                log.exception("closing MIDI input")
        if self.osc is not None:
            self.osc.stop()

    close = stop  # the engine CLI calls close()

    def __enter__(self) -> "ControlSurfaces":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def arm_learn(self, target: str) -> str:
        """Arm MIDI learn (``pad/3/kick``, ``master``, ...); returns the target's description."""
        return self.learn.arm(target).describe()

    def stats(self) -> dict[str, dict[str, int]]:
        """Counters for the status view: ``{"midi": {...}, "osc": {...}}``."""
        return {"midi": self.midi_stats.snapshot(),
                "osc": self.osc.stats_snapshot() if self.osc is not None else {}}

    def describe(self) -> list[str]:
        """One line per open input, for the status view and the startup banner."""
        lines = [f"mapping: {self.mapping.name}"
                 + (f" ({self.mapping.source})" if self.mapping.source else "")]
        lines += [f"MIDI in: {m.description or m.port or 'virtual'}" for m in self.midi_inputs]
        if self.osc is not None:
            host, port = self.osc.address
            lines.append(f"OSC: {host}:{port} root {self.mapping.osc_root}")
        return lines


def _midi_input(router: MidiRouter, spec: str, api: str, client_name: str,
                jack_server: str | None, index: int) -> MidiInput:
    port_name = "midi_in" if index == 0 else f"midi_in_{index + 1}"
    if spec == "virtual" or spec.startswith("virtual:"):
        name = spec.partition(":")[2] or port_name
        return MidiInput(router, virtual=True, api=api, client_name=client_name, port_name=name,
                         jack_server=jack_server)
    return MidiInput(router, spec, api=api, client_name=client_name, port_name=port_name,
                     jack_server=jack_server)


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    """--midi-in, --midi-api, --jack-server, --osc-port, --osc-host, --osc-allow, --mapping."""
    g = parser.add_argument_group("control (MIDI / OSC)")
    g.add_argument("--midi-in", action="append", default=None, metavar="PORT",
                   help="MIDI input: part of a port's name, or 'virtual' to create a port to "
                        "connect to (repeatable)")
    g.add_argument("--midi-api", default="auto", choices=("auto", "alsa", "jack"),
                   help="MIDI system (auto: ALSA if /dev/snd/seq exists, else JACK)")
    g.add_argument("--jack-server", default=None, metavar="NAME",
                   help="JACK server name for JACK MIDI (default: $JACK_DEFAULT_SERVER or 'default')")
    g.add_argument("--osc-port", type=int, default=9000, metavar="PORT",
                   help="OSC UDP port (default 9000; -1 = no OSC)")
    g.add_argument("--osc-host", default="127.0.0.1", metavar="IP",
                   help="interface to listen on (default 127.0.0.1; 0.0.0.0 for a tablet on the LAN)")
    g.add_argument("--osc-allow", action="append", default=None, metavar="IP[/NET]",
                   help="accept OSC only from these senders (repeatable)")
    g.add_argument("--mapping", default=DEFAULT_MAPPING, metavar="FILE|NAME",
                   help="mapping file, or a shipped one: gm-default, generic-16pad, touchosc")
