"""The kits a performer browses and saves live: which kit is current, which exist, and the one
worker thread that does every kit read and write.

Kit files are read and written here, in order, on a background thread: never on the audio
callback, and never on the MIDI/OSC/key threads that ask for them (they return at once). The
pads themselves belong to the :class:`~liveinstrument.engine.instrument.Instrument`; jobs are
the Instrument's own functions, queued here. Names come from remote senders, so they are
checked (:func:`liveinstrument.paths.check_name`) and every kit is written inside the user's
kit folder (``paths.kits_dir()``).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

from .. import paths

log = logging.getLogger("drumgan.kits")
QUEUE_DEPTH = 8          # a performer mashing "save" queues a few, not hundreds


class KitLibrary:
    """Current kit, browsing order, background kit I/O. ``current``: the kit file loaded at start."""

    def __init__(self, current: str | Path | None = None) -> None:
        self._lock = threading.Lock()
        self.current_name: str | None = None
        self.current_path: Path | None = None
        self._kit_names: list[str] = [n for n, _ in paths.all_kits()]
        if current is not None:
            self.set_current(kit_name_of(Path(current)), Path(current))
        self.last_message: str | None = None     # the last job's outcome, one line
        self.last_error: str | None = None
        self.saves = 0
        self.loads = 0
        self._jobs: queue.Queue[tuple[str, str, Callable[[], str]] | None] = queue.Queue(QUEUE_DEPTH)
        self._thread: threading.Thread | None = None

    # -- what is current ------------------------------------------------------------------
    def set_current(self, name: str | None, path: Path | None) -> None:
        kits = [n for n, _ in paths.all_kits()]   # refreshed here, so info() lists no folder
        with self._lock:
            self.current_name, self.current_path = name, path
            self._kit_names = kits

    def save_name(self, name: str | None, new: bool = False) -> str:
        """The name a save writes: ``name`` (checked), else the current kit's, else a new dated one.
        ``new`` (save-as) always makes a new dated name when none is given."""
        if name:
            return paths.check_name(name.strip())
        if not new and self.current_name:
            try:
                return paths.check_name(self.current_name)
            except ValueError:
                pass
        return self._dated_name()

    def _dated_name(self) -> str:
        base = datetime.now().strftime("kit %Y-%m-%d %H-%M-%S")
        taken = set(paths.user_kits())
        name, n = base, 2
        while name in taken:
            name, n = f"{base} {n}", n + 1
        return name

    def neighbour(self, step: int) -> tuple[str, Path] | None:
        """The kit ``step`` places from the current one in browse order (user kits, then shipped
        ones), wrapping; the first (or last) when the current kit is not in the list."""
        kits = paths.all_kits()
        if not kits:
            return None
        names = [n for n, _ in kits]
        if self.current_name in names:
            i = (names.index(self.current_name) + step) % len(kits)
        else:
            i = 0 if step > 0 else len(kits) - 1
        return kits[i]

    def find(self, name: str) -> Path:
        """A kit by name from a sender: checked, then the user's kits, then shipped ones."""
        paths.check_name(name)
        for folder in (paths.kits_dir(), paths.shipped_kits_dir()):
            cand = folder / name / paths.KIT_FILE
            if cand.is_file():
                return cand
        known = ", ".join(n for n, _ in paths.all_kits()) or "none"
        raise FileNotFoundError(f"no kit '{name}' in {paths.kits_dir()} (kits: {known})")

    def info(self) -> dict:
        """JSON-able: current kit, whether a job runs, the last outcome, the kits there are."""
        with self._lock:
            name, path, kits = self.current_name, self.current_path, list(self._kit_names)
        return {"name": name, "path": str(path) if path else None, "busy": self._jobs.unfinished_tasks > 0, "message": self.last_message, "error": self.last_error,
                "saves": self.saves, "loads": self.loads, "kits": kits}

    # -- the worker -----------------------------------------------------------------------
    def submit(self, what: str, job: Callable[[], str], kind: str = "") -> bool:
        """Queue ``job`` (returns a one-line outcome; raises with a message) to run in order on the
        kit thread; ``kind`` "save" or "load" is counted when it succeeds. False, with a log
        line, when the queue is full."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="kit-io", daemon=True)
            self._thread.start()
        try:
            self._jobs.put_nowait((what, kind, job))
        except queue.Full:
            log.warning("kit: %s dropped: %d kit jobs already waiting", what, QUEUE_DEPTH)
            return False
        return True

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued job has run (tests, shutdown)."""
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            if self._jobs.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued jobs (a save asked for just before quitting still lands), then stop."""
        t = self._thread
        if t is None or not t.is_alive():
            return
        try:
            self._jobs.put(None, timeout=timeout)
        except queue.Full:
            pass
        t.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                self._jobs.task_done()
                return
            what, kind, job = item
            try:
                msg = job()
                self.last_message, self.last_error = msg, None
                if kind == "save":
                    self.saves += 1
                elif kind == "load":
                    self.loads += 1
                log.info("kit: %s", msg)
            except Exception as exc:  # one line, and the instrument plays on
                self.last_error = f"{what} failed: {exc}"
                log.warning("kit: %s", self.last_error)
            finally:
                self._jobs.task_done()


def kit_name_of(path: Path) -> str:
    """A kit's name: its folder's for ``NAME/kit.yaml``, else the file's stem."""
    return path.parent.name if path.name == paths.KIT_FILE else path.stem
