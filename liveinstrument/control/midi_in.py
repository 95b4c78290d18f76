"""MIDI in: raw MIDI messages -> InstrumentControls through a Mapping, and rtmidi ports.

:class:`MidiRouter` is transport-free (feed it bytes or mido Messages: live ports, MIDI
files for offline renders, tests). :class:`MidiInput` opens a python-rtmidi port (mido's own
backend) with the ALSA or JACK API and feeds the router.

We use python-rtmidi's raw bytes rather than mido's parsed Messages: no Message object per
event, and junk (data bytes without a status, truncated messages) stays visible so it can
be counted instead of being silently resynchronised away.

JACK: rtmidi runs its input callback inside JACK's process thread. A Python callback there
must first take the GIL, and when it returns late (GIL held elsewhere, any slow handler),
python-rtmidi 1.5 hands over bytes from a port buffer JACK has already recycled: measured
here, a 0.5 ms callback turned a burst of 8 CCs 0..7 into 0,1,2,3,4,4,4,4, and a 5 ms one
into eight copies of the first. So under JACK we do not register a callback: rtmidi copies
each event into its own queue in C++ (no GIL in JACK's thread) and a Python thread drains it
every ``poll_interval`` (0.5 ms while playing, 1 ms after 10 s of silence; measured note-on -> router p50 1.6 ms, max 3.1 ms through a
128-frame dummy JACK server, dominated by JACK's cycle). ALSA's rtmidi thread is rtmidi's
own, so ALSA keeps the callback.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Sequence

import rtmidi

from liveinstrument.engine.commands import InstrumentControls
from liveinstrument.control.common import RateLimitedLog, Selection, Stats, apply_target, is_continuous, log
from liveinstrument.control.mapping import Mapping, Target

ALSA_SEQ_DEVICE = "/dev/snd/seq"
_NO_TARGETS: tuple[Target, ...] = ()


class MidiPortError(RuntimeError):
    """A MIDI port could not be opened; the message says what exists and what to try."""


MAX_SYSEX = 1 << 16


class MidiStream:
    """Byte-stream MIDI parser with a hardware synth's rules (any transport: a DIN/USB byte
    stream, rtmidi's messages, JACK MIDI events; a native JACK-MIDI reader follows the same):

    1. A status byte (0x80-0xF7) always ends a sysex in progress. An unterminated
       ``F0 7E 01`` is counted and dropped at the next status byte; the notes after it play.
       (rtmidi's JACK input glues every event after such a sysex into one message until an
       F7 arrives: this parser splits that glue back into the messages it holds.)
    2. Real-time bytes (0xF8-0xFF) may appear anywhere, inside a message or a sysex, and
       change nothing: they are counted and skipped.
    3. Running status: data bytes after a channel message repeat its status (``90 24 64 26
       64`` is two note-ons). System common (0xF1-0xF7, a stray EOX included) and sysex clear it.
    4. A data byte with no status to belong to is junk; so is a message cut short by the
       next status byte. Each is counted, never an exception.
    5. A sysex longer than ``MAX_SYSEX`` bytes stops being buffered (we never need its body).

    ``push(data, emit)`` calls ``emit(message_bytes)`` for every complete channel message and
    ``emit([0xF0])`` for every ended sysex; counters go to ``stats``."""

    def __init__(self, stats: "Stats") -> None:
        self.stats = stats
        self._status = 0          # running status (0 = none)
        self._data: list[int] = []
        self._sysex = False

    def take_whole(self, data: Sequence[int]) -> bool:
        """True when ``data`` is one whole channel message arriving between messages (the
        common case, which then needs no byte-by-byte parse); its status becomes the running
        status. False changes nothing: push the bytes instead."""
        if 0x80 <= data[0] < 0xF0 and not self._sysex and not self._data and all(b < 0x80 for b in data[1:]):
            self._status = data[0]
            return True
        return False

    def push(self, data: Sequence[int], emit) -> None:
        st = self.stats
        for b in data:
            b = int(b) & 0xFF
            if b >= 0xF8:
                st.inc("realtime")
                continue
            if b >= 0x80:
                if self._sysex:
                    self._sysex = False
                    if b != 0xF7:
                        st.inc("sysex_unterminated")
                    emit((0xF0,))
                    if b == 0xF7:
                        continue
                elif b == 0xF7:             # EOX without a sysex: junk, and it cancels running status
                    st.inc("junk")
                    self._status, self._data = 0, []
                    continue
                if self._data:
                    st.inc("junk")        # a message cut short by this status byte
                    self._data = []
                if b == 0xF0:
                    self._sysex, self._status = True, 0
                elif b >= 0xF1:
                    st.inc("system")
                    self._status = 0
                else:
                    self._status = b
                continue
            if self._sysex:
                continue
            if not self._status:
                st.inc("junk")
                continue
            self._data.append(b)
            kind = self._status & 0xF0
            if len(self._data) == (1 if kind in (0xC0, 0xD0) else 2):
                msg = (self._status, *self._data)
                self._data = []
                emit(msg)


class MidiRouter:
    """Routes complete MIDI messages to controls. ``feed`` never raises: bad input is counted
    (see :attr:`stats`) and logged at most once per kind per 10 s."""

    def __init__(self, controls: InstrumentControls, mapping: Mapping,
                 selection: Selection | None = None, stats: Stats | None = None) -> None:
        self.controls = controls
        self.selection = selection or Selection(getattr(controls, "n_pads", 16))
        self.stats = stats or Stats()
        self.learn = None  # a MidiLearn (attach_learn); consulted before routing
        self._warn = RateLimitedLog()
        self._cc_last = bytearray(16 * 128)  # last value per (channel, cc), for press edges
        self._stream = MidiStream(self.stats)
        self.set_mapping(mapping)

    def attach_learn(self, learn) -> None:
        """Offer every note and CC to ``learn`` (a :class:`~liveinstrument.control.learn.MidiLearn`)
        before routing it; it takes the ones it binds."""
        self.learn = learn

    def set_mapping(self, mapping: Mapping) -> None:
        """Swap in a mapping; tables are rebuilt then assigned at once, so the MIDI thread
        sees either the old or the new tables, never a mix."""
        n = self.selection.n_pads
        notes = _channel_table(mapping.effective_notes(), mapping.channel, n, self._warn, "note")
        ccs = _channel_table(mapping.effective_cc(), mapping.channel, n, self._warn, "CC")
        bend = tuple(tuple(t for t in mapping.pitchbend if _on_channel(t, mapping.channel, ch))
                     for ch in range(16))
        self.mapping = mapping
        self._tables = (notes, ccs, bend)

    # -- input ---------------------------------------------------------------------------
    def feed_message(self, msg, at: int | None = None) -> None:
        """A mido Message (e.g. from a MIDI file); ``at`` as for :meth:`feed`."""
        try:
            data = msg.bytes()
        except Exception:
            self.stats.inc("junk")
            return
        self.feed(data, at)

    def feed(self, data: Sequence[int], at: int | None = None) -> None:
        """MIDI bytes/ints: one message, several, or part of one (see :class:`MidiStream`
        for the rules). Never raises. ``at``: the sample time its notes play at on the
        engine's clock (offline renders, JACK MIDI frames); None = on arrival."""
        try:
            if not data:
                self.stats.inc("junk")
                return
            if len(data) <= 3 and self._stream.take_whole(data):
                self._feed(data, at)              # fast path: one whole channel message
            elif at is None:
                self._stream.push(data, self._feed)
            else:
                self._stream.push(data, lambda m: self._feed(m, at))
        except Exception as exc:  # a bug or a misbehaving engine: count, keep playing
            self.stats.inc("errors")
            self._warn.warn("error", "MIDI handler error on %s: %r", list(data[:3]), exc)

    def _feed(self, data: Sequence[int], at: int | None = None) -> None:
        stats = self.stats
        if not data:
            stats.inc("junk")
            return
        status = data[0]
        # Sysex first and cheaply: a flood must cost one comparison per message.
        if status == 0xF0:
            stats.inc("sysex")
            return
        stats.inc("messages")
        if status < 0x80 or status >= 0xF0 or any(b > 0x7F for b in data[1:3]):
            stats.inc("junk" if status < 0xF0 else "system")
            if status < 0x80:
                self._warn.warn("junk", "MIDI junk dropped (data bytes without a status byte)")
            return
        kind, ch = status & 0xF0, status & 0x0F
        need = 2 if kind in (0xC0, 0xD0) else 3
        if len(data) < need:
            stats.inc("junk")
            self._warn.warn("short", "truncated MIDI message dropped: %s", list(data))
            return
        notes, ccs, bend = self._tables
        if kind == 0x90 and data[2] > 0:
            stats.inc("note_on")
            if self.learn is not None and self.learn.offer("note", data[1], data[2]):
                return
            targets = notes[ch][data[1]]
            if not targets:
                stats.inc("unmapped")
                return
            vel = self.mapping.velocity(data[2] / 127.0)
            for t in targets:
                if t.kind == "trigger":
                    apply_target(self.controls, t, max(vel, 1e-3), self.selection, at=at)
                    if self.mapping.select_on_trigger and t.pad > 0:
                        self.selection.select(t.pad)
                else:  # actions and fixed selects fire on note-on
                    apply_target(self.controls, t, 1.0, self.selection)
        elif kind == 0x80 or kind == 0x90:  # note-off, or note-on with velocity 0
            stats.inc("note_off")
            for t in notes[ch][data[1]]:
                if t.kind == "trigger":
                    self.controls.release(self.selection.resolve(t.pad))
        elif kind == 0xB0:
            stats.inc("cc")
            num, val = data[1], data[2]
            key = ch * 128 + num
            prev = self._cc_last[key]
            self._cc_last[key] = val
            if self.learn is not None and self.learn.offer("cc", num, val):
                return
            targets = ccs[ch][num]
            if not targets:
                stats.inc("unmapped")
                return
            x = val / 127.0
            pressed = val >= 64 > prev  # buttons send 127/0: fire once per press
            for t in targets:
                if is_continuous(t):
                    apply_target(self.controls, t, x, self.selection)
                elif pressed:
                    apply_target(self.controls, t, x if t.kind == "trigger" else 1.0, self.selection)
        elif kind == 0xE0:
            stats.inc("pitchbend")
            targets = bend[ch]
            if not targets:
                stats.inc("unmapped")
                return
            x = (data[1] | (data[2] << 7)) / 16383.0
            for t in targets:
                if is_continuous(t):
                    apply_target(self.controls, t, x, self.selection)
        else:  # program change, aftertouch: not mapped (yet)
            stats.inc("unmapped")


def _on_channel(t: Target, default: int | None, ch: int) -> bool:
    want = t.channel if t.channel is not None else default
    return want is None or want - 1 == ch


def _channel_table(table: dict[int, list[Target]], default: int | None, n_pads: int,
                   warn: RateLimitedLog, label: str) -> list[list[tuple[Target, ...]]]:
    """[channel][number] -> targets, so routing is two list lookups."""
    for num, targets in table.items():
        for t in targets:
            if t.kind != "select" and t.pad > n_pads:
                warn.warn(f"pad{t.pad}", "mapping binds %s %d to pad %d but the kit has %d pads "
                          "(the engine will ignore it)", label, num, t.pad, n_pads)
    out = [[_NO_TARGETS] * 128 for _ in range(16)]
    for num, targets in table.items():
        for ch in range(16):
            out[ch][num] = tuple(t for t in targets if _on_channel(t, default, ch))
    return out


# ---------------------------------------------------------------------------------------------
# Ports

def has_alsa_seq() -> bool:
    return os.path.exists(ALSA_SEQ_DEVICE)


def resolve_api(api: str = "auto") -> int:
    """'alsa' | 'jack' | 'auto' -> an rtmidi API constant. Auto prefers ALSA where the
    sequencer device exists (desktop Linux), else JACK (containers, no snd-seq module)."""
    compiled = rtmidi.get_compiled_api()
    api = api.lower()
    if api not in ("auto", "alsa", "jack"):
        raise MidiPortError(f"unknown MIDI API '{api}' (choose auto, alsa or jack)")
    if api in ("auto", "alsa") and rtmidi.API_LINUX_ALSA in compiled and has_alsa_seq():
        return rtmidi.API_LINUX_ALSA
    if api == "alsa":
        raise MidiPortError(f"ALSA MIDI is not available: {ALSA_SEQ_DEVICE} is missing "
                            "(no ALSA sequencer on this machine, e.g. a container without the "
                            "snd-seq module); use --midi-api jack with a running JACK server")
    if rtmidi.API_UNIX_JACK in compiled:
        return rtmidi.API_UNIX_JACK
    raise MidiPortError("no usable MIDI API: python-rtmidi was built without JACK and "
                        f"{ALSA_SEQ_DEVICE} is missing")


def api_name(api: int) -> str:
    return {rtmidi.API_LINUX_ALSA: "ALSA", rtmidi.API_UNIX_JACK: "JACK"}.get(api, rtmidi.get_api_name(api))


def _make_midi_in(api: int, client_name: str, jack_server: str | None) -> rtmidi.MidiIn:
    if jack_server and api == rtmidi.API_UNIX_JACK:
        # libjack reads this when the client opens; rtmidi offers no other way to name a server.
        os.environ["JACK_DEFAULT_SERVER"] = jack_server
    try:
        # A deep queue: a sysex flood must not push out the notes queued behind it.
        return rtmidi.MidiIn(api, name=client_name, queue_size_limit=4096)
    except rtmidi.SystemError as exc:
        if api == rtmidi.API_UNIX_JACK:
            server = os.environ.get("JACK_DEFAULT_SERVER", "default")
            raise MidiPortError(f"cannot open JACK MIDI: no JACK server '{server}' running "
                                f"({exc}); start one (e.g. jackd -d dummy) or set "
                                "JACK_DEFAULT_SERVER to its name"
                                + ("" if has_alsa_seq() else f"; ALSA MIDI is unavailable too "
                                   f"({ALSA_SEQ_DEVICE} missing)")) from exc
        raise MidiPortError(f"cannot open {api_name(api)} MIDI: {exc}") from exc


def list_midi_inputs(api: str = "auto", jack_server: str | None = None) -> list[str]:
    """Names of the MIDI ports we can read from (output ports of other clients)."""
    mi = _make_midi_in(resolve_api(api), "drumgan-list", jack_server)
    try:
        return list(mi.get_ports())
    finally:
        mi.delete()


class MidiInput:
    """One MIDI input port feeding a router.

    ``port``: a substring of an existing port name (case-insensitive; exact match wins), or
    None with ``virtual=True`` to create a port others connect to, named
    ``<client_name>:<port_name>`` under JACK. ``api``: 'auto', 'alsa' or 'jack'.
    ``jack_server`` sets JACK_DEFAULT_SERVER for this process (a JACK server not named
    'default'). ``poll``: drain rtmidi's queue from a thread instead of a callback; None =
    yes under JACK, no under ALSA (see the module notes). The router never raises.
    """

    def __init__(self, router: MidiRouter, port: str | None = None, *, virtual: bool = False,
                 api: str = "auto", client_name: str = "drumgan", port_name: str = "midi_in",
                 jack_server: str | None = None, poll: bool | None = None,
                 poll_interval: float = 0.0005, idle_poll_interval: float = 0.001) -> None:
        if (port is None) == (not virtual):
            raise ValueError("give either a port name to connect to or virtual=True")
        self.router, self.port, self.virtual = router, port, virtual
        self.api_request, self.client_name, self.port_name = api, client_name, port_name
        self.jack_server = jack_server
        self.poll, self.poll_interval, self.idle_poll_interval = poll, poll_interval, idle_poll_interval
        self.description = ""
        self._in: rtmidi.MidiIn | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> "MidiInput":
        api = resolve_api(self.api_request)
        poll = self.poll if self.poll is not None else api == rtmidi.API_UNIX_JACK
        mi = _make_midi_in(api, self.client_name, self.jack_server)
        try:
            # Sysex stays on so floods are counted (one comparison each); clock and
            # active sensing are dropped inside rtmidi: they mean nothing to a drum pad.
            mi.ignore_types(sysex=False, timing=True, active_sense=True)
            if not poll:
                mi.set_callback(self._on_midi)
            if self.virtual:
                mi.open_virtual_port(self.port_name)
                self.description = f"{api_name(api)} virtual port {self.client_name}:{self.port_name}"
            else:
                ports = list(mi.get_ports())
                idx = _find_port(ports, self.port or "")
                if idx is None:
                    avail = "\n  ".join(ports) or "(none)"
                    raise MidiPortError(f"no {api_name(api)} MIDI input matching '{self.port}'. "
                                        f"Available:\n  {avail}\nor use a virtual port "
                                        "(--midi-in virtual) and connect to it")
                mi.open_port(idx, self.port_name)
                self.description = f"{api_name(api)} port '{ports[idx]}'"
        except Exception:
            mi.delete()
            raise
        self._in = mi
        self._flush = _sysex_flusher(api, self.client_name, self.port_name) if poll else None
        if poll:
            self._stop.clear()
            self._thread = threading.Thread(target=self._poll_loop, args=(mi,), daemon=True,
                                            name=f"midi-in {self.port or self.port_name}")
            self._thread.start()
        log.info("MIDI in: %s", self.description)
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        fl, self._flush = getattr(self, "_flush", None), None
        if fl is not None:
            fl.close_port()
            fl.delete()
        mi, self._in = self._in, None
        if mi is not None:
            mi.cancel_callback()
            mi.close_port()
            mi.delete()

    def _poll_loop(self, mi: rtmidi.MidiIn) -> None:
        # Poll fast while someone plays, a little slower after 10 s of silence: the idle
        # loop costs ~4 % of a core at 0.5 ms, ~2 % at 1 ms, and cores are scarce here.
        get, feed, stop = mi.get_message, self.router.feed, self._stop
        fast, idle, last = self.poll_interval, self.idle_poll_interval, 0.0
        monotonic, sleep = time.monotonic, time.sleep
        flush, t_flush = self._flush, 0.0
        while not stop.is_set():
            msg = get()
            if msg is None:
                now = monotonic()
                if flush is not None and now - t_flush > FLUSH_S:
                    t_flush = now
                    try:
                        flush.send_message(_EOX)
                    except Exception:  # noqa: BLE001 - the flusher is a safety net, not a need
                        flush = None
                sleep(fast if now - last < 10.0 else idle)
                continue
            while msg is not None:  # drain a burst before sleeping again
                if msg[0] != _EOX:  # our own flush byte
                    feed(msg[0])
                msg = get()
            last = monotonic()

    @property
    def is_open(self) -> bool:
        return self._in is not None

    def _on_midi(self, event: tuple[list[int], float], _data: object = None) -> None:
        try:  # nothing may escape into rtmidi's thread
            self.router.feed(event[0])
        except BaseException:  # noqa: BLE001 - even KeyboardInterrupt belongs to the main thread
            self.router.stats.inc("errors")


class CoreMidiInput:
    """The engine's own JACK MIDI port (``engine.jack_out.JackOut``: read in the core's JACK
    callback, every message with its frame) feeding a router; the port rtmidi would have
    opened. Same face as :class:`MidiInput` for :class:`~.surfaces.ControlSurfaces`."""

    virtual = True
    port = None

    def __init__(self, router: MidiRouter, source) -> None:
        self.router, self.source = router, source
        self.full_name = source.midi_port_name
        self.client_name, self.port_name = self.full_name.split(":", 1)
        self.description = ""

    def open(self) -> "CoreMidiInput":
        self.source.set_midi_feed(self.router.feed)
        self.description = f"JACK port {self.full_name} (read by the real-time core, each note at its frame)"
        log.info("MIDI in: %s", self.description)
        return self

    def close(self) -> None:
        self.source.set_midi_feed(None)

    @property
    def is_open(self) -> bool:
        return bool(self.description)


FLUSH_S = 0.005
_EOX = [0xF7]


def _sysex_flusher(api: int, client_name: str, port_name: str) -> "rtmidi.MidiOut | None":
    """An output port of ours connected to our own JACK input. rtmidi's JACK input holds back
    every event after an unterminated sysex until some event ends in F7, so the notes after
    a broken ``F0 7E 01`` would never arrive; a lone F7 every FLUSH_S releases them (JACK MIDI
    events are whole messages, so it never cuts a real sysex) and MidiStream splits the glue."""
    if api != rtmidi.API_UNIX_JACK:
        return None
    try:
        out = rtmidi.MidiOut(api, name=f"{client_name}-flush")
        ports = out.get_ports()
        want = f"{client_name}:{port_name}"
        idx = next((i for i, p in enumerate(ports) if p == want or p.endswith(want)), None)
        if idx is None:
            out.delete()
            return None
        out.open_port(idx, "flush")
        return out
    except Exception:  # noqa: BLE001 - without it only broken-sysex recovery is lost
        return None


def _find_port(ports: list[str], wanted: str) -> int | None:
    low = wanted.lower()
    for i, p in enumerate(ports):
        if p == wanted:
            return i
    for i, p in enumerate(ports):
        if low in p.lower():
            return i
    return None
