"""One mapping format for MIDI and OSC: load, validate, and the target vocabulary.

A mapping file (YAML, see mappings/README.md) binds controls to *targets*:

    {trigger: 1}                          play pad 1 (note velocity / OSC arg -> 0..1)
    {param: kick, pad: selected}          a PAD_PARAMS value; pad N, all (or 0), selected
    {global: master}                      a GLOBAL_PARAMS value
    {action: generate, pad: 3}            a PAD_ACTIONS action (note-on, CC press, OSC press)
    {action: kit_next}                    an INSTRUMENT_ACTIONS action (kit_save, kit_save_as,
                                          kit_next, kit_prev, undo): no pad
    {select: 5} / {select: value}         choose the "selected" pad (fixed, or from the value)
    {xy: [variation, variation_y]}        two params from one OSC message (XY pads)

Continuous targets take an optional ``range: [lo, hi]``, ``curve: linear|exp|log|<gamma>``
and ``invert: true``; MIDI bindings an optional ``channel: 1..16``.
Errors name the file and line and say what to fix; all errors are reported at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import yaml

from liveinstrument.engine.commands import GLOBAL_PARAMS, INSTRUMENT_ACTIONS, PAD_ACTIONS, PAD_PARAMS
from liveinstrument.control.yamlsrc import YamlDoc, load_yaml
from liveinstrument.paths import mapping_names, resolve_mapping, shipped_mappings_dir, user_mappings_dir

MAPPINGS_DIR = shipped_mappings_dir()   # shipped, read-only; user mappings: paths.user_mappings_dir()
DEFAULT_MAPPING = "gm-default"
DEFAULT_OSC_ROOT = "/drumgan"

ALL_PADS = 0      # pad 0 = every pad (the Protocol's convention)
SELECTED = -1     # the pad last played or chosen with a `select` binding
KINDS = ("trigger", "param", "global", "action", "select", "xy")
SELECT_BY_VALUE = 0  # Target(kind="select", pad=0): the value picks the pad
_CURVES = {"linear": 1.0, "exp": 2.0, "log": 0.5}
_MIDI_KINDS_FOR_NOTES = ("trigger", "action", "select")
_BINDING_KEYS = set(KINDS) | {"pad", "range", "curve", "invert", "channel"}


class MappingError(ValueError):
    """A mapping file that cannot be used; the message lists every problem with file:line."""


@dataclass(frozen=True)
class Shape:
    """0..1 in -> 0..1 out: invert, then ``x ** gamma``, then scale into [lo, hi]."""
    lo: float = 0.0
    hi: float = 1.0
    gamma: float = 1.0
    invert: bool = False

    def __call__(self, x: float) -> float:
        x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
        if self.invert:
            x = 1.0 - x
        if self.gamma != 1.0:
            x = x ** self.gamma
        return self.lo + (self.hi - self.lo) * x

    def inverse(self, y: float) -> float:
        """The input that gives ``y`` (clamped): where a feedback fader should sit."""
        span = self.hi - self.lo
        x = 0.0 if span == 0.0 else (y - self.lo) / span
        x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
        if self.gamma != 1.0:
            x = x ** (1.0 / self.gamma)
        return 1.0 - x if self.invert else x

    def to_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if (self.lo, self.hi) != (0.0, 1.0):
            out["range"] = [self.lo, self.hi]
        if self.gamma != 1.0:
            names = {v: k for k, v in _CURVES.items()}
            out["curve"] = names.get(self.gamma, self.gamma)
        if self.invert:
            out["invert"] = True
        return out


LINEAR = Shape()


@dataclass(frozen=True)
class Target:
    """What a control does. ``pad``: 1..n, ALL_PADS, or SELECTED; ``name``: param/global/action;
    ``name2``: the y param of an ``xy`` target; ``channel``: MIDI channel 1..16 or None (any)."""
    kind: str
    pad: int = SELECTED
    name: str = ""
    name2: str = ""
    shape: Shape = LINEAR
    channel: int | None = None

    def describe(self) -> str:
        pad = _pad_str(self.pad)
        if self.kind == "trigger":
            return f"trigger pad {pad}"
        if self.kind == "param":
            return f"pad {pad} {self.name}"
        if self.kind == "global":
            return self.name
        if self.kind == "action":
            return self.name if self.name in INSTRUMENT_ACTIONS else f"pad {pad} {self.name}"
        if self.kind == "select":
            return "select pad by value" if self.pad == SELECT_BY_VALUE else f"select pad {pad}"
        return f"pad {pad} xy {self.name}/{self.name2}"

    def same_destination(self, other: "Target") -> bool:
        """True when both move the same thing (MIDI learn replaces the older binding)."""
        return (self.kind, self.pad, self.name, self.name2) == (other.kind, other.pad, other.name, other.name2)

    def to_yaml(self) -> dict[str, Any]:
        """The YAML form that :func:`parse_target` reads back."""
        out: dict[str, Any]
        if self.kind == "trigger":
            out = {"trigger": _pad_yaml(self.pad)}
        elif self.kind == "action" and self.name in INSTRUMENT_ACTIONS:
            out = {"action": self.name}
        elif self.kind in ("param", "action"):
            out = {self.kind: self.name, "pad": _pad_yaml(self.pad)}
        elif self.kind == "global":
            out = {"global": self.name}
        elif self.kind == "select":
            out = {"select": "value" if self.pad == SELECT_BY_VALUE else self.pad}
        else:
            out = {"xy": [self.name, self.name2], "pad": _pad_yaml(self.pad)}
        out.update(self.shape.to_yaml())
        if self.channel is not None:
            out["channel"] = self.channel
        return out


def _pad_str(pad: int) -> str:
    return {ALL_PADS: "all", SELECTED: "selected"}.get(pad, str(pad))


def _pad_yaml(pad: int) -> int | str:
    return {ALL_PADS: "all", SELECTED: "selected"}.get(pad, pad)


@dataclass
class Mapping:
    """A validated mapping. MIDI tables are keyed by note/CC number; ``learned`` entries
    (written by MIDI learn) override ``notes``/``cc`` entries with the same number."""
    name: str = "unnamed"
    source: Path | None = None
    channel: int | None = None                       # default MIDI channel filter (None = any)
    velocity: Shape = LINEAR                         # note velocity -> trigger velocity
    select_on_trigger: bool = True
    notes: dict[int, list[Target]] = field(default_factory=dict)
    cc: dict[int, list[Target]] = field(default_factory=dict)
    pitchbend: list[Target] = field(default_factory=list)
    learned_notes: dict[int, list[Target]] = field(default_factory=dict)
    learned_cc: dict[int, list[Target]] = field(default_factory=dict)
    osc_root: str = DEFAULT_OSC_ROOT
    osc_addresses: dict[str, list[Target]] = field(default_factory=dict)
    osc_feedback: list[tuple[str, int]] = field(default_factory=list)
    pads: dict[int, dict[str, Any]] = field(default_factory=dict)  # labels / class hints (informational)

    def effective_notes(self) -> dict[int, list[Target]]:
        return {**self.notes, **self.learned_notes}

    def effective_cc(self) -> dict[int, list[Target]]:
        return {**self.cc, **self.learned_cc}

    def max_pad(self) -> int:
        """Highest explicit pad number any binding uses (to warn when the kit is smaller)."""
        return max((t.pad for ts in self._all_targets() for t in ts if t.pad > 0), default=0)

    def _all_targets(self) -> Iterable[list[Target]]:
        yield from self.notes.values()
        yield from self.cc.values()
        yield self.pitchbend
        yield from self.learned_notes.values()
        yield from self.learned_cc.values()
        yield from self.osc_addresses.values()


def note_to_pad(mapping: "Mapping | str | Path" = DEFAULT_MAPPING) -> dict[int, int]:
    """note -> pad for notes that trigger a fixed pad (for offline renders of MIDI files;
    channel filters and `selected` pads do not apply there)."""
    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    out: dict[int, int] = {}
    for note, targets in m.effective_notes().items():
        for t in targets:
            if t.kind == "trigger" and t.pad > 0:
                out[note] = t.pad
                break
    return out


# ---------------------------------------------------------------------------------------------
# Loading and validation

def resolve_mapping_path(name_or_path: str | Path) -> Path:
    """A file path as given, else a user mapping by name (MIDI learn's copies), else a shipped
    one (``gm-default`` -> the shipped gm-default.yaml); see :mod:`liveinstrument.paths`."""
    p = resolve_mapping(name_or_path)
    if p is not None:
        return p
    known = ", ".join(mapping_names()) or "none"
    raise MappingError(f"mapping '{name_or_path}' not found: not a file, not in {user_mappings_dir()} "
                       f"and not shipped (mappings: {known})")


def load_mapping(name_or_path: str | Path = DEFAULT_MAPPING) -> Mapping:
    """Load and validate a mapping file (or a shipped one by name); raise MappingError."""
    path = resolve_mapping_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot read: {exc}") from exc
    return parse_mapping(text, source=path)


def parse_mapping(text: str, source: Path | str | None = None) -> Mapping:
    """Validate mapping YAML text; ``source`` only names the file in error messages."""
    where = str(source) if source is not None else "<mapping>"
    try:
        doc = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(f"{where}{line}: YAML syntax error: {problem} "
                           f"(check indentation, colons and brackets)") from exc
    v = _Validator(doc, where)
    mapping = v.mapping()
    mapping.source = Path(source) if source is not None else None
    if v.errors:
        n = len(v.errors)
        raise MappingError(f"{where}: {n} problem{'s' if n > 1 else ''} in mapping:\n  "
                           + "\n  ".join(v.errors))
    return mapping


class _Validator:
    def __init__(self, doc: YamlDoc, where: str) -> None:
        self.doc, self.where = doc, where
        self._errors: list[tuple[int, str]] = []
        for path, first, second in doc.duplicates:
            self._errors.append((second, f"{where}:{second}: {_dotted(path)}: defined twice (also line "
                                         f"{first}); YAML keeps only the last one: delete or merge one"))

    @property
    def errors(self) -> list[str]:
        """Messages in file order."""
        return [msg for _, msg in sorted(self._errors, key=lambda e: e[0])]

    def err(self, path: tuple, msg: str) -> None:
        line = self.doc.line(path)
        self._errors.append((line or 0, f"{self.where}{f':{line}' if line else ''}: "
                                        f"{_dotted(path) or '(top)'}: {msg}"))

    # -- sections ------------------------------------------------------------------------
    def mapping(self) -> Mapping:
        data = self.doc.data
        m = Mapping()
        if data is None:
            self.err((), "the file is empty: expected a mapping with 'midi:' and/or 'osc:' sections")
            return m
        if not isinstance(data, dict):
            self.err((), "expected a mapping (key: value lines) at the top level")
            return m
        self.known_keys((), data, ("name", "description", "version", "midi", "osc", "pads", "learned"))
        if "name" in data:
            m.name = str(data["name"])
        midi = self.section(("midi",), data.get("midi"))
        if midi:
            self.known_keys(("midi",), midi, ("channel", "velocity", "select_on_trigger", "notes", "cc", "pitchbend"))
            m.channel = self.channel(("midi", "channel"), midi.get("channel", "any"))
            if "velocity" in midi:
                m.velocity = self.shape_only(("midi", "velocity"), midi["velocity"])
            if "select_on_trigger" in midi:
                m.select_on_trigger = self.boolean(("midi", "select_on_trigger"), midi["select_on_trigger"])
            m.notes = self.table(("midi", "notes"), midi.get("notes"), "note")
            m.cc = self.table(("midi", "cc"), midi.get("cc"), "cc")
            if midi.get("pitchbend") is not None:
                m.pitchbend = self.bindings(("midi", "pitchbend"), midi["pitchbend"], "cc")
        learned = self.section(("learned",), data.get("learned"))
        if learned:
            self.known_keys(("learned",), learned, ("notes", "cc"))
            m.learned_notes = self.table(("learned", "notes"), learned.get("notes"), "note")
            m.learned_cc = self.table(("learned", "cc"), learned.get("cc"), "cc")
        osc = self.section(("osc",), data.get("osc"))
        if osc:
            self.known_keys(("osc",), osc, ("root", "addresses", "feedback", "layout"))
            m.osc_root = self.osc_root(("osc", "root"), osc.get("root", DEFAULT_OSC_ROOT))
            m.osc_addresses = self.osc_table(("osc", "addresses"), osc.get("addresses"))
            m.osc_feedback = self.feedback(("osc", "feedback"), osc.get("feedback"))
            # osc.layout is free-form documentation of a control surface (see touchosc.yaml).
        pads = self.section(("pads",), data.get("pads"))
        if pads:
            m.pads = self.pads(("pads",), pads)
        return m

    def section(self, path: tuple, value: Any) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.err(path, f"expected a section of 'key: value' lines, got {type(value).__name__}")
            return None
        return value

    def known_keys(self, path: tuple, d: dict, allowed: tuple[str, ...]) -> None:
        for k in d:
            if k not in allowed:
                self.err(path + (k,), f"unknown key '{k}' (expected one of: {', '.join(allowed)})")

    def table(self, path: tuple, value: Any, kind: str) -> dict[int, list[Target]]:
        out: dict[int, list[Target]] = {}
        if value is None:
            return out
        if not isinstance(value, dict):
            self.err(path, f"expected '{kind} number: binding' lines")
            return out
        for key, binding in value.items():
            p = path + (key,)
            num = _as_int(key)
            if num is None or not 0 <= num <= 127:
                what = "note" if kind == "note" else "CC"
                self.err(p, f"{what} number must be 0..127, got {key!r}")
                continue
            targets = self.bindings(p, binding, kind)
            if targets:
                out[num] = targets
        return out

    def osc_table(self, path: tuple, value: Any) -> dict[str, list[Target]]:
        out: dict[str, list[Target]] = {}
        if value is None:
            return out
        if not isinstance(value, dict):
            self.err(path, "expected '/address: binding' lines")
            return out
        for addr, binding in value.items():
            p = path + (addr,)
            if not isinstance(addr, str) or not addr.startswith("/") or " " in addr:
                self.err(p, f"an OSC address starts with '/' and has no spaces, got {addr!r}")
                continue
            if addr.count("{pad}") > 1:
                self.err(p, "use '{pad}' at most once in an address")
                continue
            targets = self.bindings(p, binding, "osc")
            if "{pad}" in addr:
                targets = [replace(t, pad=SELECTED) if t.kind != "select" else t for t in targets]
            if targets:
                out[addr] = targets
        return out

    def bindings(self, path: tuple, value: Any, source: str) -> list[Target]:
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            t = self.binding(path + ((i,) if isinstance(value, list) else ()), item, source)
            if t is not None:
                out.append(t)
        return out

    def binding(self, path: tuple, b: Any, source: str) -> Target | None:
        if isinstance(b, int) and not isinstance(b, bool) and source == "note":
            b = {"trigger": b}  # shorthand: `36: 1` plays pad 1
        if not isinstance(b, dict):
            self.err(path, "expected a binding like {trigger: 1}, {param: kick, pad: selected}, "
                           "{global: master}, {action: generate, pad: 1} or {select: 3}")
            return None
        kinds = [k for k in KINDS if k in b]
        if len(kinds) != 1:
            self.err(path, f"a binding needs exactly one of {', '.join(KINDS)}"
                           + (f" (found {', '.join(kinds)})" if kinds else ""))
            return None
        kind = kinds[0]
        for k in b:
            if k not in _BINDING_KEYS:
                self.err(path + (k,), f"unknown key '{k}' in binding (allowed: kind key, pad, range, curve, invert, channel)")
        if source == "note" and kind not in _MIDI_KINDS_FOR_NOTES:
            self.err(path, f"a note can trigger, run an action or select a pad, not '{kind}': bind {kind} to a CC")
            return None
        if source != "osc" and kind == "xy":
            self.err(path, "xy bindings take two values and exist only for OSC addresses")
            return None
        if source != "osc" and "channel" in b:
            channel = self.channel(path + ("channel",), b["channel"])
        elif "channel" in b:
            self.err(path + ("channel",), "channel applies to MIDI bindings only")
            channel = None
        else:
            channel = None
        shape = self.shape_only(path, {k: b[k] for k in ("range", "curve", "invert") if k in b})
        v = b[kind]
        if kind == "trigger":
            pad = self.pad(path + ("trigger",), v, allow_all=False)
            return None if pad is None else Target("trigger", pad=pad, shape=shape, channel=channel)
        if kind == "select":
            if v == "value":
                if source == "note":
                    self.err(path + ("select",), "a note selects a fixed pad: use {select: N}")
                    return None
                return Target("select", pad=SELECT_BY_VALUE, channel=channel)
            num = _as_int(v)
            if num is None or num < 1:
                self.err(path + ("select",), f"select takes a pad number (1, 2, ...) or 'value', got {v!r}")
                return None
            return Target("select", pad=num, channel=channel)
        if kind == "global":
            if v not in GLOBAL_PARAMS:
                self.err(path + ("global",), f"unknown global '{v}' (choose one of: {', '.join(GLOBAL_PARAMS)})")
                return None
            if "pad" in b:
                self.err(path + ("pad",), "a global has no pad: remove 'pad'")
            return Target("global", pad=ALL_PADS, name=v, shape=shape, channel=channel)
        if kind == "action" and v in INSTRUMENT_ACTIONS:
            if "pad" in b:
                self.err(path + ("pad",), f"'{v}' acts on the whole instrument: remove 'pad'")
            return Target("action", pad=ALL_PADS, name=v, channel=channel)
        pad = self.pad(path + ("pad",), b.get("pad", "selected"), allow_all=True)
        if pad is None:
            return None
        if kind == "param":
            if v not in PAD_PARAMS:
                hint = " (master is a global: use {global: master})" if v in GLOBAL_PARAMS else ""
                self.err(path + ("param",), f"unknown pad param '{v}'{hint} (choose one of: {', '.join(PAD_PARAMS)})")
                return None
            return Target("param", pad=pad, name=v, shape=shape, channel=channel)
        if kind == "action":
            if v not in PAD_ACTIONS:
                self.err(path + ("action",), f"unknown action '{v}' (choose one of: "
                                             f"{', '.join(PAD_ACTIONS + INSTRUMENT_ACTIONS)})")
                return None
            return Target("action", pad=pad, name=v, channel=channel)
        # xy
        names = ["variation", "variation_y"] if v is True else v
        if (not isinstance(names, list) or len(names) != 2
                or not all(isinstance(n, str) and n in PAD_PARAMS for n in names)):
            self.err(path + ("xy",), f"xy takes two pad params, e.g. [variation, variation_y] (or true), got {v!r}")
            return None
        return Target("xy", pad=pad, name=names[0], name2=names[1], shape=shape)

    def pad(self, path: tuple, v: Any, allow_all: bool) -> int | None:
        if v == "selected":
            return SELECTED
        if v in ("all", 0) and allow_all:
            return ALL_PADS
        num = _as_int(v)
        if num is None or num < 1:
            allowed = "a pad number (1, 2, ...), 'selected'" + (" or 'all' (0)" if allow_all else "")
            self.err(path, f"pad must be {allowed}, got {v!r}")
            return None
        return num

    def channel(self, path: tuple, v: Any) -> int | None:
        if v in ("any", "all", "omni", None):
            return None
        num = _as_int(v)
        if num is None or not 1 <= num <= 16:
            self.err(path, f"MIDI channel must be 1..16 or 'any', got {v!r} (channels count from 1, GM drums are 10)")
            return None
        return num

    def boolean(self, path: tuple, v: Any) -> bool:
        if not isinstance(v, bool):
            self.err(path, f"expected true or false, got {v!r}")
            return False
        return v

    def shape_only(self, path: tuple, d: Any) -> Shape:
        if not isinstance(d, dict):
            self.err(path, "expected {range: [lo, hi], curve: linear|exp|log|<gamma>, invert: true|false}")
            return LINEAR
        lo, hi, gamma, inv = 0.0, 1.0, 1.0, False
        for k in d:
            if k not in ("range", "curve", "invert"):
                self.err(path + (k,), f"unknown key '{k}' (expected range, curve, invert)")
        if "range" in d:
            r = d["range"]
            if (isinstance(r, list) and len(r) == 2 and all(_is_num(x) for x in r)
                    and all(0.0 <= float(x) <= 1.0 for x in r)):
                lo, hi = float(r[0]), float(r[1])
            else:
                self.err(path + ("range",), f"range is [lo, hi] with both in 0..1 (hi < lo inverts), got {r!r}")
        if "curve" in d:
            c = d["curve"]
            if isinstance(c, str) and c in _CURVES:
                gamma = _CURVES[c]
            elif _is_num(c) and 0.05 <= float(c) <= 20.0:
                gamma = float(c)
            else:
                self.err(path + ("curve",), f"curve is linear, exp, log, or an exponent 0.05..20, got {c!r}")
        if "invert" in d:
            inv = self.boolean(path + ("invert",), d["invert"])
        return Shape(lo, hi, gamma, inv)

    def osc_root(self, path: tuple, v: Any) -> str:
        if not isinstance(v, str) or not v.startswith("/") or v.endswith("/") or " " in v or "{" in v:
            self.err(path, f"root is an OSC address like /drumgan (leading '/', no trailing '/'), got {v!r}")
            return DEFAULT_OSC_ROOT
        return v

    def feedback(self, path: tuple, v: Any) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        if v is None:
            return out
        if not isinstance(v, list):
            self.err(path, "feedback is a list of \"host:port\" strings")
            return out
        for i, item in enumerate(v):
            host, _, port = str(item).rpartition(":")
            num = _as_int(port)
            if not host or num is None or not 1 <= num <= 65535:
                self.err(path + (i,), f"expected \"host:port\" (e.g. \"192.168.1.20:9001\"), got {item!r}")
                continue
            out.append((host, num))
        return out

    def pads(self, path: tuple, d: dict) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for key, info in d.items():
            p = path + (key,)
            num = _as_int(key)
            if num is None or num < 1:
                self.err(p, f"pad numbers start at 1, got {key!r}")
                continue
            if not isinstance(info, dict):
                self.err(p, "expected {name: ..., kick: 0..1, snare: 0..1, cymbal: 0..1}")
                continue
            for k, val in info.items():
                if k == "name":
                    continue
                if k not in ("kick", "snare", "cymbal") or not _is_num(val) or not 0 <= float(val) <= 1:
                    self.err(p + (k,), "pad hints are name, and kick/snare/cymbal in 0..1")
            out[num] = dict(info)
        return out


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _as_int(x: Any) -> int | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x.strip().isdigit():
        return int(x)
    return None
