"""Pieces MIDI and OSC share: counters, rate-limited logging, the selected pad, target dispatch."""
from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Callable

from liveinstrument.engine.commands import InstrumentControls
from liveinstrument.control.mapping import SELECT_BY_VALUE, SELECTED, Target

log = logging.getLogger("liveinstrument.control")


class Stats:
    """Named counters. ``inc`` is called from transport threads; a lost increment under a
    race is acceptable for diagnostics, a lock on every MIDI byte is not."""

    def __init__(self) -> None:
        self._c: Counter[str] = Counter()

    def inc(self, key: str, n: int = 1) -> None:
        self._c[key] += n

    def __getitem__(self, key: str) -> int:
        return self._c[key]

    def snapshot(self) -> dict[str, int]:
        return dict(self._c)


class RateLimitedLog:
    """Log the first occurrence of each kind of problem, then at most one line per
    ``interval`` seconds per kind with how many were suppressed: a flood of junk must not
    turn into a flood of log I/O."""

    def __init__(self, logger: logging.Logger = log, interval: float = 10.0) -> None:
        self._log, self._interval = logger, interval
        self._next: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def warn(self, kind: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next.get(kind, 0.0):
            self._suppressed[kind] += 1
            return
        self._next[kind] = now + self._interval
        n = self._suppressed.pop(kind, 0)
        self._log.warning(msg + (f" ({n} more like this since last report)" if n else ""), *args)


class Selection:
    """The "selected pad" that `pad: selected` bindings act on, shared by MIDI and OSC so a
    tablet can pick the pad that the hardware knobs edit."""

    def __init__(self, n_pads: int, pad: int = 1) -> None:
        self.n_pads = max(1, int(n_pads))
        self._pad = min(max(1, pad), self.n_pads)
        self._listeners: list[Callable[[int], None]] = []

    @property
    def pad(self) -> int:
        return self._pad

    def select(self, pad: int) -> None:
        pad = min(max(1, int(pad)), self.n_pads)
        if pad != self._pad:
            self._pad = pad
            for fn in list(self._listeners):
                try:
                    fn(pad)
                except Exception:  # a listener bug must not break the transport thread
                    log.exception("selection listener failed")

    def select_by_value(self, x: float) -> None:
        """0..1 across the pads: a knob or fader scrolls through them."""
        self.select(1 + min(self.n_pads - 1, int(x * self.n_pads)))

    def resolve(self, pad: int) -> int:
        return self._pad if pad == SELECTED else pad

    def listen(self, fn: Callable[[int], None]) -> None:
        self._listeners.append(fn)


def apply_target(controls: InstrumentControls, t: Target, x: float, sel: Selection,
                 pad: int | None = None, at: int | None = None) -> None:
    """Do what ``t`` says with a normalised input ``x`` in 0..1.

    Continuous targets (param, global, select-by-value) take ``t.shape(x)``; a trigger takes
    it as velocity, and x == 0 means release; actions and fixed selects just fire (callers
    decide what a press is). ``pad`` overrides the target's pad (OSC ``{pad}`` addresses).
    ``at``: the hit's sample time on the engine's clock (MIDI files, JACK MIDI), else now.
    """
    p = sel.resolve(t.pad if pad is None else pad)
    kind = t.kind
    if kind == "param":
        controls.set_param(p, t.name, t.shape(x))
    elif kind == "trigger":
        if x <= 0.0:
            controls.release(p)
        else:
            if at is None:
                controls.trigger(p, t.shape(x))
            else:
                controls.trigger(p, t.shape(x), at=at)
    elif kind == "action":
        controls.action(p, t.name)
    elif kind == "global":
        controls.set_global(t.name, t.shape(x))
    elif kind == "select":
        if t.pad == SELECT_BY_VALUE:
            sel.select_by_value(x)
        else:
            sel.select(t.pad)
    else:
        raise ValueError(f"target kind {kind!r} needs two values")  # xy: the OSC layer handles it


def is_continuous(t: Target) -> bool:
    """Targets that follow a value (vs. fire on a press)."""
    return t.kind in ("param", "global") or (t.kind == "select" and t.pad == SELECT_BY_VALUE)

