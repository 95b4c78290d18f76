"""`drumgan control`: check a mapping, list MIDI inputs, or monitor a controller without audio.

    drumgan control check mappings/my-kit.yaml
    drumgan control ports [--midi-api jack]
    drumgan control monitor --midi-in virtual --osc-port 9000 --mapping touchosc

``monitor`` runs the real MIDI/OSC surfaces against a recording stand-in for the engine and
prints each call it would make: the quickest way to see what a controller sends.
"""
from __future__ import annotations

import argparse
import sys
import time

from liveinstrument.control.mapping import MappingError, load_mapping
from liveinstrument.control.midi_in import MidiPortError, list_midi_inputs


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("control", help="check mappings, list MIDI ports, monitor controllers",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="control_cmd", metavar="ACTION", required=True)
    c = sub.add_parser("check", help="validate mapping files")
    c.add_argument("mappings", nargs="+", metavar="FILE|NAME")
    c.set_defaults(func=_check)
    ports = sub.add_parser("ports", help="list MIDI input ports")
    ports.add_argument("--midi-api", default="auto", choices=("auto", "alsa", "jack"))
    ports.add_argument("--jack-server", default=None)
    ports.set_defaults(func=_ports)
    mon = sub.add_parser("monitor", help="print what MIDI/OSC input does, without the engine")
    from liveinstrument.control.surfaces import add_control_arguments
    add_control_arguments(mon)
    mon.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    mon.set_defaults(func=_monitor)


def _check(args: argparse.Namespace) -> int:
    rc = 0
    for name in args.mappings:
        try:
            m = load_mapping(name)
        except MappingError as exc:
            print(exc, file=sys.stderr)
            rc = 1
            continue
        print(f"{m.source}: ok ({m.name}: {len(m.effective_notes())} notes, "
              f"{len(m.effective_cc())} CCs, {len(m.osc_addresses)} OSC aliases, root {m.osc_root})")
    return rc


def _ports(args: argparse.Namespace) -> int:
    try:
        names = list_midi_inputs(args.midi_api, args.jack_server)
    except MidiPortError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(names) if names else "(no MIDI inputs)")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from liveinstrument.control.recording import RecordingControls
    from liveinstrument.control.surfaces import ControlSurfaces

    class Printing(RecordingControls):
        def _record(self, *call: object) -> None:
            print(" ".join(str(x) for x in call), flush=True)

    try:
        cs = ControlSurfaces.from_args(Printing(), args).start()
    except (MappingError, MidiPortError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(cs.describe()), file=sys.stderr)
    try:
        end = None if args.duration is None else time.monotonic() + args.duration
        while end is None or time.monotonic() < end:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        cs.stop()
        print(cs.stats(), file=sys.stderr)
    return 0
