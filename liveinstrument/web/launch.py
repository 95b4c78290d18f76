"""`drumgan live` options for the page, and starting it next to MIDI/OSC."""
from __future__ import annotations

import argparse
from typing import Any


def add_web_arguments(parser: argparse.ArgumentParser) -> None:
    """--web-port, --web-host, --no-web."""
    g = parser.add_argument_group("browser control page")
    g.add_argument("--web-port", type=int, default=8000, metavar="PORT",
                   help="port of the control page http://127.0.0.1:PORT/ (default 8000; 0 = any free port)")
    g.add_argument("--web-host", default="127.0.0.1", metavar="IP",
                   help="interface for the page (default 127.0.0.1, this machine only; 0.0.0.0 or a LAN IP "
                        "for a tablet: then the page needs the token printed at start)")
    g.add_argument("--no-web", action="store_true", help="do not serve the control page")


def start_web(inst: Any, audio_out: Any, surfaces: Any, args: argparse.Namespace):
    """The running WebServer, or None (--no-web, or it could not bind: one line says why)."""
    if getattr(args, "no_web", False):
        return None
    from liveinstrument.web.server import WebServer
    try:
        server = WebServer(inst, audio_out, surfaces, host=args.web_host, port=args.web_port).start()
    except OSError as exc:
        print(f"web page not started: {exc} "
              f"(another program on that port? try --web-port 0 or --no-web)")
        return None
    for line in server.describe():
        print(line, flush=True)
    return server
