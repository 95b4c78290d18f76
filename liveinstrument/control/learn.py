"""MIDI learn: arm a target, bind the next note/CC to it, save it into the user's mapping file
(a shipped mapping is copied into the user's mappings folder first, never written).

Learned bindings live in the mapping's top-level ``learned:`` section, which overrides
``midi.notes`` / ``midi.cc`` entries with the same number. Only that section is rewritten
(a text splice), so the performer's comments and layout elsewhere in the file survive;
PyYAML cannot round-trip comments, hence no full rewrite.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

import yaml

from liveinstrument.atomic_write import write_atomic
from liveinstrument.engine.commands import GLOBAL_PARAMS, INSTRUMENT_ACTIONS, PAD_ACTIONS, PAD_PARAMS
from liveinstrument.control.common import log
from liveinstrument.control.mapping import (ALL_PADS, SELECT_BY_VALUE, SELECTED, Mapping, MappingError,
                                            Target, parse_mapping)
from liveinstrument.control.midi_in import MidiRouter
from liveinstrument.control.yamlsrc import load_yaml
from liveinstrument.paths import is_shipped, user_mappings_dir

LEARNED_HEADER = ("# MIDI learn writes the section below (drumgan); entries override midi.notes /\n"
                  "# midi.cc entries with the same number. Edit or delete lines freely.\n")


def parse_target_spec(spec: str) -> Target:
    """A learn target from a short spec: ``pad/3/kick``, ``pad/selected/variation``,
    ``pad/all/decay``, ``pad/2/generate``, ``pad/5/trigger``, ``master``, ``select/4``,
    ``select/value``. Raises ValueError with the accepted forms."""
    parts = [p for p in spec.strip().strip("/").split("/") if p]
    usage = (f"learn target '{spec}' not understood: use pad/N/<param|action|trigger> "
             "(N a number, 'selected' or 'all'), <global> (e.g. master), an instrument action "
             "(kit_save, kit_save_as, kit_next, kit_prev, undo) or select/N | select/value")
    if len(parts) == 1 and parts[0] in GLOBAL_PARAMS:
        return Target("global", pad=ALL_PADS, name=parts[0])
    if len(parts) == 1 and parts[0] in INSTRUMENT_ACTIONS:
        return Target("action", pad=ALL_PADS, name=parts[0])
    if len(parts) == 2 and parts[0] == "select":
        if parts[1] == "value":
            return Target("select", pad=SELECT_BY_VALUE)
        if parts[1].isdigit() and int(parts[1]) >= 1:
            return Target("select", pad=int(parts[1]))
        raise ValueError(usage)
    if len(parts) != 3 or parts[0] != "pad":
        raise ValueError(usage)
    pad_s, name = parts[1], parts[2]
    pad = {"selected": SELECTED, "all": ALL_PADS, "*": ALL_PADS}.get(pad_s)
    if pad is None:
        if not pad_s.isdigit():
            raise ValueError(usage)
        pad = int(pad_s)
    if name in PAD_PARAMS:
        return Target("param", pad=pad, name=name)
    if name in PAD_ACTIONS:
        return Target("action", pad=pad, name=name)
    if name == "trigger" and pad != ALL_PADS:
        return Target("trigger", pad=pad)
    raise ValueError(usage)


class MidiLearn:
    """Arm with :meth:`arm`; the router offers every note-on and CC to :meth:`offer` first.

    A param, global or select-by-value target waits for a CC (a note cannot sweep a value;
    notes keep playing meanwhile); triggers, actions and fixed selects take a note or a CC.
    The binding is live at once and saved to ``path`` (None: not saved). The learned
    binding records no channel: it follows the mapping's ``midi.channel``.
    """

    def __init__(self, router: MidiRouter, path: Path | str | None) -> None:
        self.router = router
        self.path = Path(path) if path is not None else None
        self._armed: Target | None = None
        self._lock = threading.Lock()
        self.listeners: list[Callable[[str, int, Target], None]] = []
        self.last: tuple[str, int, Target] | None = None
        self.save_error: str | None = None
        router.attach_learn(self)

    @property
    def armed(self) -> Target | None:
        return self._armed

    def arm(self, target: Target | str) -> Target:
        t = parse_target_spec(target) if isinstance(target, str) else target
        if t.kind == "xy":
            raise ValueError("xy targets are OSC-only and cannot be MIDI-learned")
        self._armed = t
        log.info("MIDI learn armed: move a control for %s", t.describe())
        return t

    def cancel(self) -> None:
        self._armed = None

    def offer(self, kind: str, number: int, value: int) -> bool:
        """Called on the MIDI thread; True when the message was consumed by learning."""
        t = self._armed
        if t is None:
            return False
        if kind == "note" and (t.kind in ("param", "global")
                               or (t.kind == "select" and t.pad == SELECT_BY_VALUE)):
            return False
        with self._lock:
            if self._armed is None:  # another input thread got there first
                return False
            self._armed = None
            mapping = self.router.mapping
            notes = {k: v for k, v in mapping.learned_notes.items()}
            ccs = {k: v for k, v in mapping.learned_cc.items()}
            for table in (notes, ccs):  # one control per learned target: moving it re-binds
                for num in list(table):
                    kept = [x for x in table[num] if not x.same_destination(t)]
                    if kept:
                        table[num] = kept
                    else:
                        del table[num]
            (notes if kind == "note" else ccs)[number] = [t]
            new = replace(mapping, learned_notes=notes, learned_cc=ccs)
            self.router.set_mapping(new)
            self.last = (kind, number, t)
            log.info("MIDI learn: %s %d -> %s", kind, number, t.describe())
            if self.path is not None:
                try:
                    save_learned(self.path, new)
                    self.save_error = None
                except (OSError, MappingError) as exc:  # binding stays live for this session
                    self.save_error = str(exc)
                    log.error("MIDI learn: could not save %s: %s", self.path, exc)
        for fn in list(self.listeners):
            try:
                fn(kind, number, t)
            except Exception:
                log.exception("MIDI learn listener failed")
        return True


def render_learned(mapping: Mapping) -> str:
    """The ``learned:`` section text (no trailing newline)."""
    lines = ["learned:"]
    for label, table in (("notes", mapping.learned_notes), ("cc", mapping.learned_cc)):
        if not table:
            lines.append(f"  {label}: {{}}")
            continue
        lines.append(f"  {label}:")
        for num in sorted(table):
            items = [t.to_yaml() for t in table[num]]
            value = items[0] if len(items) == 1 else items
            flow = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000).strip()
            lines.append(f"    {num}: {flow}")
    return "\n".join(lines)


def save_learned(path: Path, mapping: Mapping) -> None:
    """Rewrite only the ``learned:`` section of ``path`` (appending it when absent), check
    the result parses to the same learned bindings, then replace the file atomically.
    A ``path`` that does not exist yet (the user's copy of a shipped mapping) starts as a copy
    of ``mapping.source``; a shipped file is never written."""
    if is_shipped(path):
        raise MappingError(f"{path} is a shipped mapping and is never written: learn into a copy in "
                           f"{user_mappings_dir()} (the default)")
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        src = mapping.source
        text = (Path(src).read_text(encoding="utf-8") if src is not None and Path(src).is_file()
                else f"name: {mapping.name}\n")
        path.parent.mkdir(parents=True, exist_ok=True)
    block = render_learned(mapping)
    doc = load_yaml(text)
    span = doc.spans.get(("learned",))
    if span is None:
        new_text = text.rstrip("\n") + "\n\n" + LEARNED_HEADER + block + "\n"
    else:
        start, end = span
        # A block's end mark runs past trailing comments and blank lines: keep those.
        kept = text[start:end].splitlines(keepends=True)
        while len(kept) > 1 and (not kept[-1].strip() or kept[-1].lstrip().startswith("#")):
            kept.pop()
        end = start + len("".join(kept).rstrip("\n"))
        new_text = text[:start] + block + text[end:]
    check = parse_mapping(new_text, source=path)
    if (check.learned_notes, check.learned_cc) != (mapping.learned_notes, mapping.learned_cc):
        raise MappingError(f"{path}: learned section did not round-trip; file left unchanged")
    write_atomic(path, new_text.encode("utf-8"))     # keeps the file's permissions
