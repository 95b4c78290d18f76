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

import rtmidi

from liveinstrument.engine.commands import InstrumentControls
from liveinstrument.paths import learned_mapping_path
from liveinstrument.control.common import Selection, Stats, log
from liveinstrument.control.learn import MidiLearn
from liveinstrument.control.mapping import DEFAULT_MAPPING, Mapping, load_mapping
from liveinstrument.control.midi_in import CoreMidiInput, MidiInput, MidiPortError, MidiRouter, resolve_api
from liveinstrument.control.midi_ports import AlsaAutoConnect, AutoConnect, JackAutoConnect
from liveinstrument.control.osc_guard import DEFAULT_RATE
from liveinstrument.control.osc_server import OscServer


class ControlSurfaces:
    """Starts and stops the performer's control inputs.

    ``mapping``: a Mapping, a file path, or a shipped mapping's name.
    ``midi_in``: port specs, each ``auto`` (a virtual input plus every hardware controller,
    present and plugged in later: :mod:`liveinstrument.control.midi_ports`), ``virtual``
    (create ``<client>:midi_in``), ``virtual:NAME``, or a substring of an existing port's
    name; empty or ``none`` = no MIDI. ``midi_api``: auto|alsa|jack.
    ``osc_port``: None = no OSC, 0 = any free port. ``osc_host``: 127.0.0.1 unless a tablet
    on the LAN needs ``0.0.0.0``; ``osc_allow``: sender IPs/networks accepted (all if empty).
    ``learn_path``: where MIDI learn saves (default: the mapping's own file when it is the
    user's, else a copy in the user's mappings folder: a shipped file is never written).
    ``start()`` raises MidiPortError / OSError / MappingError with a message for the user,
    and leaves nothing open when it does; ``core_midi``: the engine's JACK client (``JackOut``)
    when it reads JACK MIDI itself: the first ``auto``/``virtual`` input is then its port; ``auto`` MIDI that cannot open (no JACK server,
    no ALSA sequencer) is one line in :meth:`describe` instead, and OSC still starts.
    """

    def __init__(self, controls: InstrumentControls, mapping: Mapping | str | Path = DEFAULT_MAPPING, *,
                 midi_in: Sequence[str] | str | None = None, midi_api: str = "auto",
                 osc_port: int | None = 9000, osc_host: str = "127.0.0.1",
                 osc_allow: Iterable[str] | None = None, jack_server: str | None = None,
                 client_name: str = "drumgan", learn_path: Path | str | None = None,
                 osc_rate_limit: float = DEFAULT_RATE, core_midi=None) -> None:
        self.controls = controls
        self.mapping = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
        self.selection = Selection(int(getattr(controls, "n_pads", 16)))
        self.midi_stats, self.osc_stats = Stats(), Stats()
        self.router = MidiRouter(controls, self.mapping, self.selection, self.midi_stats)
        self.learn = MidiLearn(self.router, learn_path if learn_path is not None
                               else learned_mapping_path(self.mapping.source))
        specs = [midi_in] if isinstance(midi_in, str) else list(midi_in or [])
        specs = [s for s in specs if s and s != "none"]
        self.auto_midi = "auto" in specs
        self.midi_api, self.jack_server, self.client_name = midi_api, jack_server, client_name
        self.midi_inputs = [_midi_input(self.router, "virtual" if s == "auto" else s, midi_api, client_name,
                                        jack_server, i) for i, s in enumerate(specs)]
        self.core_midi = core_midi is not None and bool(specs) and specs[0] in ("auto", "virtual")
        if self.core_midi:
            self.midi_inputs[0] = CoreMidiInput(self.router, core_midi)
        self.autoconnect: AutoConnect | None = None
        self.midi_problem: str | None = None     # why auto MIDI is off, in one line
        self.osc: OscServer | None = None
        if osc_port is not None:
            self.osc = OscServer(controls, self.mapping, host=osc_host, port=osc_port,
                                 allow=osc_allow, selection=self.selection,
                                 learn=self.learn if self.midi_inputs else None, stats=self.osc_stats,
                                 rate_limit=osc_rate_limit)

    @classmethod
    def from_args(cls, controls: InstrumentControls, args: argparse.Namespace, core_midi=None) -> "ControlSurfaces":
        """Build from the options :func:`add_control_arguments` defines."""
        midi_in = ["auto"] if args.midi_in is None else args.midi_in
        return cls(controls, args.mapping, midi_in=midi_in, midi_api=args.midi_api,
                   osc_port=None if args.osc_port < 0 else args.osc_port, osc_host=args.osc_host,
                   osc_allow=args.osc_allow, jack_server=args.jack_server,
                   osc_rate_limit=getattr(args, "osc_rate_limit", DEFAULT_RATE), core_midi=core_midi)

    def start(self) -> "ControlSurfaces":
        try:
            for i, m in enumerate(self.midi_inputs):
                if self.auto_midi and i == 0:
                    self._start_auto(m)
                else:
                    m.open()
            if self.osc is not None:
                self.osc.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_auto(self, virtual: MidiInput) -> None:
        """The default MIDI: our virtual input, then the watcher that connects controllers to it.
        Either failing is one line (``midi_problem``); the instrument plays on from OSC."""
        try:
            virtual.open()
        except MidiPortError as exc:
            self.midi_problem = f"MIDI off: {str(exc).splitlines()[0]}"
            self.midi_inputs = [m for m in self.midi_inputs if m is not virtual]
            self.auto_midi = False
            return
        try:
            if self.core_midi or resolve_api(self.midi_api) == rtmidi.API_UNIX_JACK:
                dest = f"{virtual.client_name}:{virtual.port_name}"
                self.autoconnect = JackAutoConnect(dest, self.jack_server, f"{self.client_name}-ports").start()
            else:
                self.autoconnect = AlsaAutoConnect(self.router, self.client_name).start()
        except Exception as exc:  # the virtual port still works; say why controllers won't connect
            self.autoconnect = None
            self.midi_problem = f"MIDI auto-connect off: {str(exc).splitlines()[0]}"

    def connected_midi_ports(self) -> list[str]:
        """Controllers auto-connected right now (for the status view)."""
        return self.autoconnect.connected if self.autoconnect is not None else []

    def stop(self) -> None:
        if self.autoconnect is not None:
            self.autoconnect.stop()
            self.autoconnect = None
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

    def status_lines(self) -> list[str]:
        """Short lines for the live status view: MIDI inputs and connected controllers, OSC."""
        return self.describe(short=True)

    def describe(self, short: bool = False) -> list[str]:
        """One line per open input for the startup banner; ``short`` leaves out the mapping
        line and the OSC root (the status view's room)."""
        lines = [] if short else [f"mapping: {self.mapping.name}"
                                  + (f" ({self.mapping.source})" if self.mapping.source else "")]
        lines += [f"MIDI in: {m.description or m.port or 'virtual'}" for m in self.midi_inputs]
        if self.autoconnect is not None:
            lines.append(self.autoconnect.describe())
        if self.midi_problem:
            lines.append(self.midi_problem)
        if self.osc is not None:
            host, port = self.osc.address
            lines.append(f"OSC: {host}:{port}" + ("" if short else f" root {self.mapping.osc_root}"))
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
    """--midi-in, --midi-api, --jack-server, --osc-port, --osc-host, --osc-allow, --osc-rate-limit, --mapping."""
    g = parser.add_argument_group("control (MIDI / OSC)")
    g.add_argument("--midi-in", action="append", default=None, metavar="PORT",
                   help="MIDI input: part of a port's name, 'virtual' (a port to connect to), or "
                        "'none' (repeatable). Default: a virtual port plus every hardware controller, "
                        "also ones plugged in later")
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
    g.add_argument("--osc-rate-limit", type=float, default=DEFAULT_RATE, metavar="PPS",
                   help=f"packets/s one OSC sender may send (burst: one second's worth; default "
                        f"{DEFAULT_RATE:.0f}; 0 = no limit); the excess is dropped with a log line")
    g.add_argument("--mapping", default=DEFAULT_MAPPING, metavar="FILE|NAME",
                   help="mapping file, or a shipped one: gm-default, generic-16pad, touchosc")
