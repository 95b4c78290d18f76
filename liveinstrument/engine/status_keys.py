"""Keys in the live status view: save, save as, next/previous kit, undo, quit.

A thread reads single key presses from the terminal (cbreak mode: no Enter needed, Ctrl-C
still interrupts) and runs the instrument's actions; each returns at once, the kit work
happens on the instrument's kit thread. Without a terminal (a service, CI) it does nothing.
"""
from __future__ import annotations

import os
import select
import sys
import threading

from .commands import INSTRUMENT_ACTIONS

# key -> (instrument action, label in the status view's help line)
KEYS: dict[str, tuple[str, str]] = {
    "s": ("kit_save", "save"),
    "a": ("kit_save_as", "save as new"),
    "n": ("kit_next", "next kit"),
    "p": ("kit_prev", "previous kit"),
    "u": ("undo", "undo"),
}
QUIT_KEYS = ("q",)
assert all(a in INSTRUMENT_ACTIONS for a, _ in KEYS.values())


class KeyReader:
    """Reads keys from ``fd`` (default stdin) while started; ``quit`` is set by 'q'."""

    def __init__(self, controls, fd: int | None = None) -> None:
        self.controls = controls
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.quit = threading.Event()
        self.active = False
        self.last_key: str | None = None
        self._saved = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "KeyReader":
        try:
            if not os.isatty(self.fd):
                return self
            import termios
            import tty
            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        except (OSError, ValueError, ImportError):   # no terminal, or not a POSIX one
            return self
        self.active = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="status-keys", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        if self._saved is not None:
            import termios
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            except (OSError, termios.error):
                pass
            self._saved = None
        self.active = False

    def __enter__(self) -> "KeyReader":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def press(self, key: str) -> bool:
        """Act on one key; True when it meant something."""
        if key in QUIT_KEYS:
            self.quit.set()
            return True
        hit = KEYS.get(key)
        if hit is None:
            return False
        self.last_key = key
        self.controls.action(0, hit[0])
        return True

    @staticmethod
    def help_line() -> str:
        return "keys: " + "  ".join(f"[b]{k}[/b] {label}" for k, (_, label) in KEYS.items()) + "  [b]q[/b] quit"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(self.fd, 64)
            except OSError:
                return
            if not data:
                return
            for ch in data.decode(errors="ignore"):
                self.press(ch)
