"""Which of this process's JACK clients lost their server and are not closed yet.

libjack keeps process-wide state. After a server dies, every client of it is a zombie until
it is closed, and a new ``jack_client_open`` while one is still open frees state the zombie
uses: closing it later crashes the process (measured: JACK 1.9.21, SIGSEGV in
``jack_deactivate``). So the engine's client and the MIDI auto-connect client each report
here, and neither tries to reconnect while any zombie is open.
"""
from __future__ import annotations

import threading

_lock = threading.Lock()
_zombies: set[int] = set()


def lost(client_id: int) -> None:
    """The server of client ``client_id`` (any id unique in the process, e.g. ``id(obj)``) is gone."""
    with _lock:
        _zombies.add(client_id)


def closed(client_id: int) -> None:
    """Client ``client_id`` is closed (or was never lost): it no longer blocks reconnecting."""
    with _lock:
        _zombies.discard(client_id)


def safe_to_open() -> bool:
    """True when no client of this process is waiting to be closed after losing its server."""
    with _lock:
        return not _zombies
