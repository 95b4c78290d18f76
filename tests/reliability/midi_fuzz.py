"""A MIDI fuzz schedule with valid notes interleaved, and the MIDI 1.0 byte-stream rules
(as a hardware synth applies them) that say what each byte should do.

:class:`SpecParser` is the reference: real-time bytes (F8-FF) anywhere change nothing, any
status byte ends a sysex, running status repeats a channel message's status and is cancelled
by sysex and system common (EOX included), data bytes without a status are junk, a message
cut short by a status byte is dropped. Its state runs across JACK events, as a DIN stream's.

:func:`build` makes the schedule: ``per_cycle`` fuzz events every JACK cycle (random bytes,
truncated messages, unterminated and long sysex, running-status data, real-time bytes on
their own and inside messages, wrong channels, system common, channel-10 messages that
play nothing) and every ``spacing`` cycles one valid note-on on channel 10 for the next pad
in turn, itself in a hostile form (after an unterminated ``F0 7E 01``, with real-time bytes
inside, by running status, after a truncated message...). Fuzz that the rules say would
sound is drawn again, so every sound on the recording is a valid note's.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .live_rig import MIDI, N_PADS, Schedule

CHANNEL = 10
NOTE0 = 36                        # pad N = note 35 + N on channel 10 (the test's mapping)
MAPPING = "name: fuzz test\nmidi:\n  channel: %d\n  select_on_trigger: false\n  notes:\n%s" % (
    CHANNEL, "".join(f"    {NOTE0 + p}: {{trigger: {p + 1}}}\n" for p in range(N_PADS)))
ON = 0x90 | (CHANNEL - 1)
REALTIME = (0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF)


def _need(status: int) -> int:
    if 0xC0 <= status < 0xE0:
        return 2
    if status >= 0xF0:
        return 3 if status == 0xF2 else 2 if status in (0xF1, 0xF3) else 1
    return 3


class SpecParser:
    """MIDI 1.0 byte-stream rules. ``feed`` returns the messages they deliver, as the
    instrument's JACK reader hands them on: channel and system common messages whole (running
    status filled in), and each ended sysex as ``(F0, F7)`` or, cut by another status, ``(F0,)``."""

    def __init__(self) -> None:
        self.running, self.msg, self.need, self.sysex = 0, [], 0, False

    def copy(self) -> "SpecParser":
        c = SpecParser()
        c.running, c.msg, c.need, c.sysex = self.running, list(self.msg), self.need, self.sysex
        return c

    def feed(self, data: bytes) -> list[tuple[int, ...]]:
        out = []
        for x in data:
            if x >= 0xF8:
                continue
            if x >= 0x80:
                if self.sysex:
                    self.sysex = False
                    out.append((0xF0, 0xF7) if x == 0xF7 else (0xF0,))
                self.msg = []
                if x in (0xF0, 0xF7):
                    self.sysex, self.running = x == 0xF0, 0
                    continue
                self.running = x if x < 0xF0 else 0
                if _need(x) == 1:
                    out.append((x,))
                else:
                    self.msg, self.need = [x], _need(x)
                continue
            if self.sysex:
                continue
            if not self.msg:
                if not self.running:
                    continue
                self.msg, self.need = [self.running], _need(self.running)
            self.msg.append(x)
            if len(self.msg) == self.need:
                out.append(tuple(self.msg))
                self.msg = []
        return out


def sounding(msgs: list[tuple[int, ...]]) -> list[int]:
    """Pads the mapping plays for these messages (note-on, velocity > 0, channel 10)."""
    return [m[1] - NOTE0 + 1 for m in msgs
            if len(m) == 3 and m[0] == ON and NOTE0 <= m[1] < NOTE0 + N_PADS and m[2] > 0]


def _data(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(128) for _ in range(n))


def _with_realtime(rng: random.Random, msg: bytes) -> bytes:
    out = bytearray(msg[:1])
    for b in msg[1:]:
        out += bytes(rng.choice(REALTIME) for _ in range(rng.randrange(1, 3)))
        out.append(b)
    return bytes(out)


def fuzz_event(rng: random.Random) -> bytes:
    k = rng.randrange(12)
    if k == 0:                                          # random bytes
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 13)))
    if k == 1:                                          # a channel message cut short
        st = rng.randrange(0x80, 0xF0)
        return bytes([st]) + _data(rng, rng.randrange(_need(st) - 1))
    if k == 2:                                          # the unterminated sysex of the issue
        return b"\xf0\x7e\x01" + _data(rng, rng.randrange(5))
    if k == 3:                                          # a whole sysex
        return b"\xf0" + _data(rng, rng.randrange(31)) + b"\xf7"
    if k == 4:                                          # a long sysex, never terminated
        return b"\xf0" + _data(rng, rng.randrange(100, 300))
    if k == 5:                                          # running-status data on its own
        return _data(rng, rng.randrange(1, 7))
    if k == 6:                                          # real-time bytes on their own
        return bytes(rng.choice(REALTIME) for _ in range(rng.randrange(1, 4)))
    if k == 7:                                          # a message with real-time bytes inside
        st = rng.randrange(0x80, 0xF0)
        return _with_realtime(rng, bytes([st]) + _data(rng, _need(st) - 1))
    if k == 8:                                          # a mapped note on a wrong channel
        ch = rng.choice([c for c in range(16) if c != CHANNEL - 1])
        return bytes([0x90 | ch, NOTE0 + rng.randrange(N_PADS), rng.randrange(1, 128)])
    if k == 9:                                          # channel 10, plays nothing
        c = CHANNEL - 1
        return rng.choice([
            bytes([0x80 | c, NOTE0 + rng.randrange(N_PADS), rng.randrange(128)]),        # note-off
            bytes([0x90 | c, NOTE0 + rng.randrange(N_PADS), 0]),                         # note-on vel 0
            bytes([0x90 | c, rng.choice([rng.randrange(NOTE0), rng.randrange(NOTE0 + N_PADS, 128)]),
                   rng.randrange(1, 128)]),                                             # unmapped note
            bytes([rng.choice([0xA0, 0xB0, 0xE0]) | c]) + _data(rng, 2),
            bytes([rng.choice([0xC0, 0xD0]) | c]) + _data(rng, 1)])
    if k == 10:                                         # system common, whole or cut, stray EOX
        st = rng.choice([0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7])
        return bytes([st]) + _data(rng, rng.randrange(3))
    return b"\xf0\x7e\x01" + bytes([rng.randrange(0x80, 0xF0)]) + _data(rng, rng.randrange(3))


def valid_note(rng: random.Random, pad: int) -> list[bytes]:
    """One note-on for ``pad`` (channel 10) as one or two JACK events, in a hostile form."""
    n, v = NOTE0 + pad - 1, rng.randrange(100, 128)
    note = bytes([ON, n, v])
    form = rng.randrange(8)
    if form == 0:
        return [note]
    if form == 1:                                       # after the unterminated sysex
        return [b"\xf0\x7e\x01", note]
    if form == 2:                                       # the sysex and the note in one event
        return [b"\xf0\x7e\x01" + note]
    if form == 3:                                       # real-time bytes inside the note
        return [_with_realtime(rng, note)]
    if form == 4:                                       # by running status
        return [bytes([ON, rng.randrange(NOTE0), 0, n, v])]
    if form == 5:                                       # after a message cut short
        return [bytes([ON, n]), note]
    if form == 6:                                       # after system common (song position)
        return [b"\xf2\x01\x02" + note]
    return [b"\xf0" + _data(rng, 200), _with_realtime(rng, note)]   # long sysex, then the note


@dataclass
class FuzzPlan:
    schedule: Schedule
    valid: list[tuple[int, int]]      # (schedule item carrying the note, pad)
    fuzz_events: int
    messages: int                     # messages the rules deliver, fuzz and valid notes together
    redrawn: int


def build(n_fuzz: int, per_cycle: int, spacing: int, seed: int = 15, period: int = 128) -> FuzzPlan:
    rng = random.Random(seed)
    sch, parser = Schedule(), SpecParser()
    valid, sent, messages, redrawn, c = [], 0, 0, 0, 0
    while sent < n_fuzz:
        cycle: list[tuple[int, list[bytes], int]] = []          # (offset, events, pad or 0)
        if c % spacing == 0:
            pad = len(valid) % N_PADS + 1
            cycle.append((rng.randrange(period), valid_note(rng, pad), pad))
        for _ in range(min(per_cycle, n_fuzz - sent)):
            cycle.append((rng.randrange(period), [b""], 0))      # drawn below, in play order
        cycle.sort(key=lambda e: e[0])
        for off, evs, pad in cycle:
            if pad:
                got = []
                for e in evs:
                    got += parser.feed(e)
                    idx = sch.add(c, off, MIDI, e)
                assert sounding(got) == [pad], (evs, got)       # the form is what it claims
                valid.append((idx, pad))
                messages += len(got)
                continue
            for _ in range(50):
                e = fuzz_event(rng)
                trial = parser.copy()
                got = trial.feed(e)
                if not sounding(got):
                    break
                redrawn += 1
            else:
                e, got, trial = b"\xfe", [], parser.copy()
            parser = trial
            messages += len(got)
            sch.add(c, off, MIDI, e)
            sent += 1
        c += 1
    return FuzzPlan(sch, valid, sent, messages, redrawn)
