"""RecordingControls: an InstrumentControls that records every call and keeps parameter state.

For tests of the control surfaces (the engine is another unit) and for a dry run of a
mapping without audio: it behaves like the Protocol says (clamps, counts, notifies
subscribers on value changes) but makes no sound.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable

from liveinstrument.engine.commands import GLOBAL_PARAMS, INSTRUMENT_ACTIONS, PAD_ACTIONS, PAD_PARAMS

_DEFAULTS = {"variation_y": 0.5, "tune": 0.5, "decay": 1.0, "pan": 0.5, "gain": 0.8}


class RecordingControls:
    """Calls land in :attr:`calls` as tuples, e.g. ``("trigger", 1, 0.79)``,
    ``("set_param", 3, "kick", 0.5)``, ``("action", 2, "generate")``."""

    def __init__(self, n_pads: int = 16) -> None:
        self.n_pads = n_pads
        self.calls: list[tuple[Any, ...]] = []
        self.params = {p: {n: _DEFAULTS.get(n, 0.0) for n in PAD_PARAMS} for p in range(1, n_pads + 1)}
        self.globals = {n: 0.8 for n in GLOBAL_PARAMS}
        self.ignored = 0
        self._subs: list[Callable[[int, str, float], None]] = []
        self._cond = threading.Condition()

    def _record(self, *call: Any) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _pad_ok(self, pad: int, allow_all: bool = False) -> bool:
        ok = (allow_all and pad == 0) or 1 <= pad <= self.n_pads
        if not ok:
            self.ignored += 1
        return ok

    @staticmethod
    def _clamp(v: float) -> float:
        return 0.0 if not math.isfinite(v) else min(1.0, max(0.0, float(v)))

    # -- InstrumentControls ----------------------------------------------------------------
    def trigger(self, pad: int, velocity: float) -> None:
        if self._pad_ok(pad):
            self._record("trigger", pad, self._clamp(velocity))

    def release(self, pad: int) -> None:
        if self._pad_ok(pad):
            self._record("release", pad)

    def set_param(self, pad: int, name: str, value: float) -> None:
        if name not in PAD_PARAMS or not self._pad_ok(pad, allow_all=True):
            self.ignored += 1
            return
        v = self._clamp(value)
        self._record("set_param", pad, name, v)
        for p in (range(1, self.n_pads + 1) if pad == 0 else (pad,)):
            self.params[p][name] = v
            self._notify(p, name, v)

    def set_global(self, name: str, value: float) -> None:
        if name not in GLOBAL_PARAMS:
            self.ignored += 1
            return
        v = self._clamp(value)
        self._record("set_global", name, v)
        self.globals[name] = v
        self._notify(0, name, v)

    def action(self, pad: int, name: str) -> None:
        if name in INSTRUMENT_ACTIONS:
            self._record("action", 0, name)
        elif name in PAD_ACTIONS and self._pad_ok(pad):
            self._record("action", pad, name)

    def save_kit_named(self, name: str | None = None, *, new: bool = False) -> bool:
        self._record("save_kit_named", name)
        return True

    def load_kit_named(self, name: str) -> bool:
        self._record("load_kit_named", name)
        return True

    def analyze_file(self, pad: int, path: str) -> None:
        if self._pad_ok(pad):
            self._record("analyze_file", pad, path)

    def state(self) -> dict:
        return {"pads": [{"pad": p, **vals} for p, vals in self.params.items()],
                **self.globals, "counters": {"ignored": self.ignored}}

    def subscribe(self, callback: Callable[[int, str, float], None]) -> None:
        self._subs.append(callback)

    def _notify(self, pad: int, name: str, value: float) -> None:
        for cb in list(self._subs):
            cb(pad, name, value)

    # -- for tests ---------------------------------------------------------------------------
    def wait_for(self, pred: Callable[[list[tuple[Any, ...]]], bool], timeout: float = 2.0) -> bool:
        """Block until ``pred(calls)`` holds (calls arrive on transport threads)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_calls(self, n: int, timeout: float = 2.0) -> list[tuple[Any, ...]]:
        self.wait_for(lambda c: len(c) >= n, timeout)
        return list(self.calls)
