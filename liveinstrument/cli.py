"""`drumgan` console script: one entry point, a subcommand per job.

Each subcommand lives in the module that does the work; that module exposes
``register(subparsers)`` which adds its parser and sets ``func`` to a callable
taking the parsed args and returning an exit code. Modules are imported only
when listed here, and torch-heavy imports happen inside ``func``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# (module, what it provides) in the order --help lists them.
COMMAND_MODULES = (
    "liveinstrument.data.cli",        # data build / data synth
    "liveinstrument.train.cli",       # train classifier / gan / encoder
    "liveinstrument.classify_cli",    # classify
    "liveinstrument.generate_cli",    # generate
    "liveinstrument.analyze_cli",     # analyze
    "liveinstrument.eval.cli",        # eval
    "liveinstrument.engine.cli",      # live / render
    "liveinstrument.control.cli",     # control check / ports / monitor
    "liveinstrument.kits.cli",        # kit from-folder / kit export
    "liveinstrument.design.cli",      # kit design (after any other kit commands: it joins them)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drumgan",
        description="DrumGAN Live: a neural drum instrument. Generate, analyse and play "
                    "GAN drum one-shots from MIDI and OSC controllers.",
        epilog="Run 'drumgan COMMAND --help' for each command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("liveinstrument"):
                continue  # a command not built yet
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
