"""The page's WebSocket messages: validate each one, then call the instrument.

Every message is a JSON object with a type ``t``. A message that is not JSON, not an
object, of an unknown type or with a field of the wrong type is *malformed*: counted and
ignored (no reply, so junk cannot be amplified). A well-formed request that cannot be
done (a bad kit name, no MIDI input for learning) gets one ``{"t": "error"}`` line back.

    {"t": "trigger", "pad": 1, "vel": 0.8}          {"t": "set", "pad": 1, "name": "kick", "value": 0.5}
    {"t": "xy", "pad": 1, "x": 0.2, "y": 0.7}       {"t": "action", "pad": 1, "name": "generate"}
    {"t": "master", "value": 0.8}                   {"t": "select", "pad": 3}
    {"t": "learn", "target": "pad/selected/kick"}   {"t": "learn_cancel"}
    {"t": "kit_save", "name": "my kit"}             {"t": "kit_load", "name": "my kit"}
    {"t": "kits"}                                   {"t": "ping", "id": 7}
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from liveinstrument.control.common import Selection, Stats
from liveinstrument.engine.commands import GLOBAL_PARAMS, PAD_ACTIONS, PAD_PARAMS
from liveinstrument.web.kits import BadKitName, default_kit_dir, kit_path, list_kits

MAX_MESSAGE_CHARS = 4096


class Malformed(ValueError):
    """A message that does not follow the protocol (counted, ignored)."""


@dataclass
class Session:
    """What a message handler may use: the instrument, the shared selection, MIDI learn
    (None without MIDI), the kit directory and the counters."""
    inst: Any
    selection: Selection
    learn: Any
    kit_dir: Path
    stats: Stats
    midi_inputs: int = 0
    extra: dict = field(default_factory=dict)


def _pad(msg: dict, s: Session, key: str = "pad") -> int:
    p = msg.get(key)
    if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= s.inst.n_pads:
        raise Malformed(f"{key} must be 1..{s.inst.n_pads}")
    return p


def _unit(msg: dict, key: str) -> float:
    v = msg.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise Malformed(f"{key} must be a number")
    return min(max(float(v), 0.0), 1.0)


def _name(msg: dict, allowed) -> str:
    n = msg.get("name")
    if n not in allowed:
        raise Malformed("unknown name")
    return n


def _trigger(msg, s):
    s.inst.trigger(_pad(msg, s), max(_unit(msg, "vel"), 0.01))


def _set(msg, s):
    s.inst.set_param(_pad(msg, s), _name(msg, PAD_PARAMS), _unit(msg, "value"))


def _xy(msg, s):
    p, x, y = _pad(msg, s), _unit(msg, "x"), _unit(msg, "y")
    s.inst.set_param(p, "variation", x)
    s.inst.set_param(p, "variation_y", y)


def _action(msg, s):
    s.inst.action(_pad(msg, s), _name(msg, PAD_ACTIONS))


def _master(msg, s):
    s.inst.set_global(GLOBAL_PARAMS[0], _unit(msg, "value"))


def _select(msg, s):
    s.selection.select(_pad(msg, s))


def _learn(msg, s):
    target = msg.get("target")
    if not isinstance(target, str) or len(target) > 64:
        raise Malformed("target must be a string")
    if s.learn is None or not s.midi_inputs:
        return {"t": "error", "msg": "MIDI learn needs a MIDI input: start with --midi-in PORT (or virtual)"}
    try:
        what = s.learn.arm(target).describe()
    except ValueError as exc:
        return {"t": "error", "msg": str(exc)}
    return {"t": "learn_armed", "target": target, "what": what}


def _learn_cancel(msg, s):
    if s.learn is not None:
        s.learn.cancel()
    return {"t": "learn_cancelled"}


def _kits(msg, s):
    return {"t": "kits", "names": list_kits(s.kit_dir)}


def _kit_save(msg, s):
    try:
        path = kit_path(s.kit_dir, msg.get("name"))
    except BadKitName as exc:
        return {"t": "error", "msg": str(exc)}
    named = getattr(s.inst, "save_kit_named", None)
    if named is not None and s.kit_dir == default_kit_dir():   # the engine's kit library: in the background
        if not named(msg["name"]):
            return {"t": "error", "msg": f"kit {msg['name']!r} not saved (a kit job is still running?)"}
        return {"t": "kit_saving", "name": msg["name"]}
    s.inst.save_kit(path)
    return {"t": "kit_saved", "name": msg["name"], "names": list_kits(s.kit_dir)}


def _kit_load(msg, s):
    try:
        path = kit_path(s.kit_dir, msg.get("name"))
    except BadKitName as exc:
        return {"t": "error", "msg": str(exc)}
    named = getattr(s.inst, "load_kit_named", None)
    if named is None:
        return {"t": "error", "msg": "this engine cannot load a kit while playing: restart with --kit NAME"}
    if not path.is_file() and s.kit_dir != default_kit_dir():
        return {"t": "error", "msg": f"no kit named {msg['name']!r} in {s.kit_dir}"}
    if not named(msg["name"]):
        return {"t": "error", "msg": f"kit {msg['name']!r} not found or a kit job is still running"}
    return {"t": "kit_loading", "name": msg["name"]}


def _ping(msg, s):
    return {"t": "pong", "id": msg.get("id")}


HANDLERS: dict[str, Callable[[dict, Session], dict | None]] = {
    "trigger": _trigger, "set": _set, "xy": _xy, "action": _action, "master": _master,
    "select": _select, "learn": _learn, "learn_cancel": _learn_cancel, "kits": _kits,
    "kit_save": _kit_save, "kit_load": _kit_load, "ping": _ping,
}
# handlers that touch files or wait on the renderer: run off the event loop's thread
SLOW = frozenset({"kit_save", "kit_load", "kits"})


def parse(text: object) -> dict:
    """The message as a dict with a known type, else :class:`Malformed`."""
    if not isinstance(text, str) or len(text) > MAX_MESSAGE_CHARS:
        raise Malformed("not a text message of up to 4 KB")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        raise Malformed("not JSON") from None
    if not isinstance(msg, dict) or msg.get("t") not in HANDLERS:
        raise Malformed("not an object with a known type")
    return msg


def handle(msg: dict, s: Session) -> dict | None:
    """Run a parsed message; the reply for the sender, if any. Raises Malformed for bad fields."""
    s.stats.inc("messages")
    return HANDLERS[msg["t"]](msg, s)
