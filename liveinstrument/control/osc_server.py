"""OSC in (and feedback out) with python-osc, under one root address (default /drumgan).

Addresses (``N`` = pad 1..n, ``*``/``all``/``0`` = every pad, ``selected``):

    /drumgan/pad/N/<param> f          any PAD_PARAMS name, 0..1 (ints accepted, clamped)
    /drumgan/pad/N/trigger [f]        velocity 0..1 (default 1; 0 = release, as a TouchOSC
                                      push button sends 1 on press and 0 on release)
    /drumgan/pad/N/release
    /drumgan/pad/N/generate [f]       also new_direction, capture: act on press (no argument,
                                      or an argument > 0); a release (0) is ignored
    /drumgan/pad/N/analyze s          load an audio file into the pad (the engine does it async)
    /drumgan/pad/N/xy f f             variation, variation_y (TouchOSC XY pad)
    /drumgan/master f                 every GLOBAL_PARAMS name
    /drumgan/generate | new_direction | capture [f]   on the selected pad
    /drumgan/select i                 choose the selected pad
    /drumgan/state [i port]           reply: /drumgan/pad/N/<param> f for every value,
                                      /drumgan/<global> f, /drumgan/selected i, /drumgan/state/end
    /drumgan/state/json [i port]      reply: /drumgan/state/json s <controls.state() as JSON>
    /drumgan/subscribe [i port]       a state reply now, then every value change pushed
    /drumgan/unsubscribe [i port]
    /drumgan/learn s TARGET           arm MIDI learn (e.g. "pad/3/kick"); /drumgan/learn/cancel
    /drumgan/kit/save [s NAME]        save the kit (in the background) under its name, or as NAME
                                      (a plain name: kits stay in the user's kit folder)
    /drumgan/kit/load s NAME          load a saved or shipped kit
    /drumgan/kit/next | kit/prev      load the next / previous kit
    /drumgan/undo                     take back the last generate or analyze
    /drumgan/ping                     reply /drumgan/pong

Replies go to the sender's IP, at the given port or else the port the query came from.
Mapping ``osc.addresses`` add aliases outside the root (stock TouchOSC layouts).

We run python-osc's *blocking* UDP server in one thread rather than the threading one:
messages are handled in arrival order (a fader's 0.5 then 0.6 must not land as 0.6 then
0.5) and a flood cannot spawn threads. Every handler is cheap by the Protocol's contract.
Bundle time tags are ignored (handled on arrival): python-osc would otherwise sleep in
the server thread until a future time tag, which a bad packet could make hours.
"""
from __future__ import annotations

import ipaddress
import json
import math
import re
import socket
import threading
import time
from typing import Any, Iterable

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_server import BlockingOSCUDPServer

from liveinstrument.engine.commands import GLOBAL_PARAMS, PAD_ACTIONS, PAD_PARAMS, InstrumentControls
from liveinstrument.control.common import RateLimitedLog, Selection, Stats, apply_target, is_continuous, log
from liveinstrument.control.mapping import ALL_PADS, SELECTED, Mapping, Target
from liveinstrument.control.osc_guard import (DEFAULT_RATE, BadPacket, SenderLimit, check_packet,
                                              rate_limit_library_logs)

Addr = tuple[str, int]
ECHO_HOLD_S = 0.3        # don't push a value back to the client that just set it
PUSH_INTERVAL_S = 0.005  # coalesce feedback: a CC sweep becomes <= 200 updates/s/value
_ALL_WORDS = {"*": ALL_PADS, "all": ALL_PADS, "0": ALL_PADS, "selected": SELECTED}


class OscServer:
    """OSC control surface. ``start()`` binds ``host:port`` (port 0 = any free port; see
    :attr:`address`), subscribes to the controls' value changes and serves in a thread.

    ``allow``: sender IPs (or networks like ``192.168.1.0/24``) accepted when set; others are
    dropped and counted. ``stats`` counts messages and every kind of bad input.
    """

    def __init__(self, controls: InstrumentControls, mapping: Mapping | None = None, *,
                 host: str = "127.0.0.1", port: int = 9000, allow: Iterable[str] | None = None,
                 selection: Selection | None = None, learn: Any = None, stats: Stats | None = None,
                 max_subscribers: int = 16, rate_limit: float = DEFAULT_RATE) -> None:
        mapping = mapping or Mapping()
        self.controls = controls
        self.n_pads = int(getattr(controls, "n_pads", 16))
        self.selection = selection or Selection(self.n_pads)
        self.learn = learn
        self.stats = stats or Stats()
        self.root = mapping.osc_root
        self.host, self.port = host, port
        self._allow = _parse_allow(allow)
        self._warn = RateLimitedLog()
        self._limit = SenderLimit(rate_limit)   # per sender IP, packets/s (0: no cap)
        self._aliases: dict[str, list[Target]] = {}
        self._pad_aliases: list[tuple[re.Pattern[str], list[Target]]] = []
        self._alias_feedback: list[tuple[str, Target]] = []  # value aliases that follow changes
        for addr, targets in mapping.osc_addresses.items():
            if "{pad}" in addr:
                rx = re.compile("^" + re.escape(addr).replace(re.escape("{pad}"), r"([^/]+)") + "$")
                self._pad_aliases.append((rx, targets))
            else:
                self._aliases[addr] = targets
            self._alias_feedback += [(addr, t) for t in targets if t.kind in ("param", "global")]
        self._feedback = list(mapping.osc_feedback)
        self._max_subs = max_subscribers
        self._subs: dict[Addr, Addr | None] = {}  # reply address -> source address it subscribed from
        self._subs_lock = threading.Lock()
        self._last_set: dict[tuple[int, str], tuple[Addr, float]] = {}
        self._values: dict[tuple[int, str], float] = {}  # latest known values, for /pad/selected/*
        self._pending: dict[tuple[int, str], float] = {}
        self._pending_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._subscribed_to_controls = False  # the Protocol has no unsubscribe: once per server
        self._pad_cmds = {**{n: self._h_param for n in PAD_PARAMS},
                          **{n: self._h_action for n in PAD_ACTIONS},
                          "trigger": self._h_trigger, "release": self._h_release,
                          "analyze": self._h_analyze, "xy": self._h_xy}
        self._root_cmds = {**{n: self._h_global for n in GLOBAL_PARAMS},
                           **{n: self._h_selected_action for n in PAD_ACTIONS},
                           "select": self._h_select, "state": self._h_state,
                           "state/json": self._h_state_json, "subscribe": self._h_subscribe,
                           "unsubscribe": self._h_unsubscribe, "learn": self._h_learn,
                           "learn/cancel": self._h_learn_cancel, "ping": self._h_ping,
                           "kit/save": self._h_kit_save, "kit/load": self._h_kit_load,
                           "kit/next": self._h_instrument_action, "kit/prev": self._h_instrument_action,
                           "undo": self._h_instrument_action}

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def address(self) -> Addr:
        """(host, port) actually bound."""
        if self._server is None:
            return (self.host, self.port)
        h, p = self._server.server_address[:2]
        return (h, p)

    def start(self) -> "OscServer":
        rate_limit_library_logs()
        self._server = _Server((self.host, self.port), self)
        self._stop.clear()
        for host, port in self._feedback:
            try:
                self._subs[(socket.gethostbyname(host), port)] = None
            except OSError as exc:
                log.warning("OSC feedback target %s:%d not resolvable: %s", host, port, exc)
        self._seed_values()
        if not self._subscribed_to_controls:
            self.controls.subscribe(self._on_change)
            self.selection.listen(self._on_select)
            self._subscribed_to_controls = True
        srv = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                               name="osc-server", daemon=True)
        push = threading.Thread(target=self._push_loop, name="osc-feedback", daemon=True)
        self._threads = [srv, push]
        for t in self._threads:
            t.start()
        log.info("OSC: listening on %s:%d, root %s%s", *self.address, self.root,
                 f", allowing {', '.join(map(str, self._allow))}" if self._allow else "")
        return self

    def stop(self) -> None:
        srv, self._server = self._server, None
        self._stop.set()
        self._wake.set()
        if srv is not None:
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(timeout=2.0)
        self._threads = []

    # -- packet entry (server thread) ----------------------------------------------------
    def _allowed(self, ip: str) -> bool:
        if not self._allow:
            return True
        try:
            a = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(a in net for net in self._allow)

    def handle_packet(self, data: bytes, client: Addr) -> None:
        """Parse and route one datagram (also usable without a socket, e.g. in tests)."""
        if not self._limit.allow(client[0]):
            self.stats.inc("rate_limited")
            self._warn.warn("rate", "OSC: %s is over the per-sender limit of %d packets/s (burst %d): "
                            "excess packets dropped, %d so far (change it with --osc-rate-limit N, 0 = off)",
                            client[0], int(self._limit.rate), int(self._limit.burst), self._limit.dropped)
            return
        try:
            check_packet(data)
        except BadPacket as exc:
            self.stats.inc("malformed")
            self._warn.warn("malformed", "OSC: malformed packet from %s:%d dropped (%s)", *client, exc)
            return
        try:
            packet = osc_packet.OscPacket(data)
            messages = [m.message for m in packet.messages]
        except Exception:  # ParseError, and struct/index errors from truncated bundles
            self.stats.inc("malformed")
            self._warn.warn("malformed", "OSC: malformed packet from %s:%d dropped", *client)
            return
        for msg in messages:
            try:
                self.handle_message(msg.address, list(msg.params), client)
            except Exception as exc:  # a bug or a misbehaving engine: count, keep serving
                self.stats.inc("errors")
                self._warn.warn("error", "OSC handler error on %s: %r", msg.address, exc)

    def handle_message(self, address: str, args: list[Any], client: Addr) -> None:
        self.stats.inc("messages")
        targets = self._aliases.get(address)
        if targets is not None:
            return self._h_alias(targets, None, args, client, address)
        root = self.root
        if address.startswith(root + "/"):
            rest = address[len(root) + 1:]
            if rest.startswith("pad/"):
                parts = rest.split("/")
                if len(parts) == 3:
                    handler = self._pad_cmds.get(parts[2])
                    if handler is not None:
                        pad = self._pad_ref(parts[1], address)
                        if pad is not None:
                            handler(pad, parts[2], args, client, address)
                        return
            else:
                handler = self._root_cmds.get(rest)
                if handler is not None:
                    return handler(rest, args, client, address)
        for rx, targets in self._pad_aliases:
            m = rx.match(address)
            if m:
                pad = self._pad_ref(m.group(1), address)
                if pad is not None:
                    self._h_alias(targets, pad, args, client, address)
                return
        self.stats.inc("unknown_address")
        self._warn.warn("unknown", "OSC: unknown address %s from %s:%d", address, *client)

    # -- argument helpers ----------------------------------------------------------------
    def _pad_ref(self, s: str, address: str) -> int | None:
        pad = _ALL_WORDS.get(s)
        if pad is None and s.isdigit() and 1 <= int(s) <= self.n_pads:
            pad = int(s)
        if pad is None:
            self.stats.inc("bad_pad")
            self._warn.warn("bad_pad", "OSC: %s: pad must be 1..%d, *, all or selected", address, self.n_pads)
        return pad

    def _unit(self, v: Any, address: str) -> float | None:
        """A 0..1 float from an OSC argument (float, int or bool); None when unusable."""
        if isinstance(v, bool):
            return 1.0 if v else 0.0
        if not isinstance(v, (int, float)):
            self.stats.inc("wrong_type")
            self._warn.warn("type", "OSC: %s wants a number, got %s", address, type(v).__name__)
            return None
        x = float(v)
        if not math.isfinite(x):
            self.stats.inc("bad_value")
            self._warn.warn("nan", "OSC: %s: non-finite value dropped", address)
            return None
        if x < 0.0 or x > 1.0:
            self.stats.inc("clamped")
            x = 0.0 if x < 0.0 else 1.0
        return x

    def _one_unit(self, args: list[Any], address: str) -> float | None:
        if len(args) < 1:
            self.stats.inc("missing_arg")
            self._warn.warn("missing", "OSC: %s needs a value 0..1", address)
            return None
        return self._unit(args[0], address)

    def _pressed(self, args: list[Any], address: str) -> bool:
        """No argument, or a first argument > 0: a press. TouchOSC buttons send 1.0 then 0.0."""
        if not args:
            return True
        x = self._unit(args[0], address)
        return x is not None and x > 0.0

    def _reply_addr(self, args: list[Any], client: Addr, address: str) -> Addr | None:
        if args:
            p = args[0]
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 1 <= int(p) <= 65535:
                self.stats.inc("wrong_type")
                self._warn.warn("port", "OSC: %s takes an optional reply port 1..65535", address)
                return None
            return (client[0], int(p))
        return client

    def _note_set(self, pad: int, name: str, client: Addr) -> None:
        self._last_set[(pad, name)] = (client, time.monotonic())

    # -- handlers (server thread) ---------------------------------------------------------
    def _h_param(self, pad: int, name: str, args: list[Any], client: Addr, address: str) -> None:
        x = self._one_unit(args, address)
        if x is not None:
            p = self.selection.resolve(pad)
            self._note_set(p, name, client)
            self.controls.set_param(p, name, x)

    def _h_trigger(self, pad: int, name: str, args: list[Any], client: Addr, address: str) -> None:
        if pad == ALL_PADS:
            self.stats.inc("bad_pad")
            return
        vel = 1.0
        if args:
            x = self._unit(args[0], address)
            if x is None:
                return
            vel = x
        p = self.selection.resolve(pad)
        if vel > 0.0:
            self.controls.trigger(p, vel)
        else:
            self.controls.release(p)

    def _h_release(self, pad: int, name: str, args: list[Any], client: Addr, address: str) -> None:
        self.controls.release(self.selection.resolve(pad))

    def _h_action(self, pad: int, name: str, args: list[Any], client: Addr, address: str) -> None:
        if self._pressed(args, address):
            self.controls.action(self.selection.resolve(pad), name)

    def _h_analyze(self, pad: int, name: str, args: list[Any], client: Addr, address: str) -> None:
        if len(args) != 1 or not isinstance(args[0], str) or not args[0].strip():
            self.stats.inc("wrong_type")
            self._warn.warn("analyze", "OSC: %s takes one string: the audio file's path", address)
            return
        if pad == ALL_PADS:
            self.stats.inc("bad_pad")
            return
        self.controls.analyze_file(self.selection.resolve(pad), args[0])

    def _h_xy(self, pad: int, name: str, args: list[Any], client: Addr, address: str,
              names: tuple[str, str] = ("variation", "variation_y")) -> None:
        if len(args) < 2:
            self.stats.inc("missing_arg")
            self._warn.warn("xy", "OSC: %s takes two values x y", address)
            return
        x, y = self._unit(args[0], address), self._unit(args[1], address)
        if x is None or y is None:
            return
        p = self.selection.resolve(pad)
        self._note_set(p, names[0], client)
        self._note_set(p, names[1], client)
        self.controls.set_param(p, names[0], x)
        self.controls.set_param(p, names[1], y)

    def _h_global(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        x = self._one_unit(args, address)
        if x is not None:
            self._note_set(0, name, client)
            self.controls.set_global(name, x)

    def _h_selected_action(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        if self._pressed(args, address):
            self.controls.action(self.selection.pad, name)

    def _h_select(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], (int, float)):
            self.stats.inc("wrong_type")
            self._warn.warn("select", "OSC: %s takes a pad number", address)
            return
        pad = int(args[0])
        if not 1 <= pad <= self.n_pads:
            self.stats.inc("bad_pad")
            return
        self.selection.select(pad)

    def _h_state(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        dest = self._reply_addr(args, client, address)
        if dest is not None:
            self.stats.inc("state_queries")
            self._send_state(dest)

    def _h_state_json(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        dest = self._reply_addr(args, client, address)
        if dest is not None:
            self.stats.inc("state_queries")
            text = json.dumps(self.controls.state(), default=str, separators=(",", ":"))
            self._send(dest, f"{self.root}/state/json", text)

    def _h_subscribe(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        dest = self._reply_addr(args, client, address)
        if dest is None:
            return
        with self._subs_lock:
            if dest not in self._subs and len(self._subs) >= self._max_subs:
                self.stats.inc("subscribe_refused")
                self._warn.warn("subs", "OSC: subscriber limit (%d) reached; %s:%d refused",
                                self._max_subs, *dest)
                return
            self._subs[dest] = client
        self.stats.inc("subscribes")
        self._send_state(dest)

    def _h_unsubscribe(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        dest = self._reply_addr(args, client, address)
        if dest is not None:
            with self._subs_lock:
                self._subs.pop(dest, None)

    def _h_learn(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        if self.learn is None:
            self.stats.inc("learn_unavailable")
            self._warn.warn("learn", "OSC: %s: MIDI learn needs a MIDI input", address)
            return
        if len(args) != 1 or not isinstance(args[0], str):
            self.stats.inc("wrong_type")
            return
        try:
            t = self.learn.arm(args[0])
        except ValueError as exc:
            self.stats.inc("bad_value")
            self._send(client, f"{self.root}/learn/error", str(exc))
            return
        self._send(client, f"{self.root}/learn/armed", t.describe())

    def _h_learn_cancel(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        if self.learn is not None:
            self.learn.cancel()

    def _h_kit_save(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        if args and isinstance(args[0], str):
            kit = args[0].strip() or None
        elif self._pressed(args, address):   # no argument, or a button's press (1.0)
            kit = None
        else:
            return
        if not self.controls.save_kit_named(kit):
            self.stats.inc("bad_value")
            self._warn.warn("kit", "OSC: %s: kit name %r refused (plain names only)", address, kit)

    def _h_kit_load(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        if len(args) != 1 or not isinstance(args[0], str) or not args[0].strip():
            self.stats.inc("wrong_type")
            self._warn.warn("kit", "OSC: %s takes one string: the kit's name", address)
            return
        if not self.controls.load_kit_named(args[0].strip()):
            self.stats.inc("bad_value")

    def _h_instrument_action(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        if self._pressed(args, address):     # a TouchOSC button's release (0) does nothing
            self.controls.action(0, name.replace("/", "_"))

    def _h_ping(self, name: str, args: list[Any], client: Addr, address: str) -> None:
        self._send(client, f"{self.root}/pong")

    def _h_alias(self, targets: list[Target], pad: int | None, args: list[Any], client: Addr,
                 address: str) -> None:
        for t in targets:
            if t.kind == "xy":
                self._h_xy(t.pad if pad is None else pad, "xy", args, client, address, (t.name, t.name2))
            elif is_continuous(t) or t.kind == "trigger":
                if t.kind == "trigger" and not args:
                    x: float | None = 1.0
                else:
                    x = self._one_unit(args, address)
                if x is None:
                    return
                if t.kind in ("param", "global"):
                    self._note_set(self.selection.resolve(t.pad if pad is None else pad)
                                   if t.kind == "param" else 0, t.name, client)
                apply_target(self.controls, t, x, self.selection, pad)
            elif self._pressed(args, address):
                apply_target(self.controls, t, 1.0, self.selection, pad)

    # -- replies and feedback -------------------------------------------------------------
    def _send(self, dest: Addr, address: str, *args: Any) -> None:
        srv = self._server
        if srv is None:
            return
        b = OscMessageBuilder(address)
        for a in args:
            b.add_arg(a)
        try:
            srv.socket.sendto(b.build().dgram, dest)
            self.stats.inc("sent")
        except OSError as exc:  # an unreachable client must not stop anything
            self.stats.inc("send_errors")
            self._warn.warn("send", "OSC: cannot send to %s:%d: %s", dest[0], dest[1], exc)

    def _send_state(self, dest: Addr) -> None:
        pads, globs = state_values(self.controls.state())
        for (pad, name), v in sorted(pads.items()):
            self._values[(pad, name)] = v
            self._send(dest, f"{self.root}/pad/{pad}/{name}", float(v))
        for name, v in sorted(globs.items()):
            self._send(dest, f"{self.root}/{name}", float(v))
        for name in PAD_PARAMS:
            v = self._values.get((self.selection.pad, name))
            if v is not None:
                self._send(dest, f"{self.root}/pad/selected/{name}", float(v))
        self._send(dest, f"{self.root}/selected", int(self.selection.pad))
        self._send(dest, f"{self.root}/state/end")

    def _seed_values(self) -> None:
        try:
            pads, _ = state_values(self.controls.state())
            self._values.update(pads)
        except Exception as exc:
            log.warning("OSC: could not read initial state for feedback: %r", exc)

    def _on_change(self, pad: int, name: str, value: float) -> None:
        """controls.subscribe callback (engine thread): record, wake the pusher, return."""
        with self._pending_lock:
            if pad == 0 and name in PAD_PARAMS:  # "every pad" changed
                for p in range(1, self.n_pads + 1):
                    self._pending[(p, name)] = value
            else:
                self._pending[(pad, name)] = value
        self._wake.set()

    def _on_select(self, pad: int) -> None:
        with self._pending_lock:
            self._pending[(-1, "selected")] = float(pad)
        self._wake.set()

    def _push_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            time.sleep(PUSH_INTERVAL_S)  # let a burst coalesce: the newest value wins
            with self._pending_lock:
                batch, self._pending = self._pending, {}
            try:
                self._push(batch)
            except Exception as exc:
                self.stats.inc("errors")
                self._warn.warn("push", "OSC feedback error: %r", exc)

    def _push(self, batch: dict[tuple[int, str], float]) -> None:
        with self._subs_lock:
            subs = list(self._subs.items())
        now = time.monotonic()
        sel = self.selection.pad
        for (pad, name), v in batch.items():
            if pad == -1:  # selection changed: the "selected" faders follow the new pad
                msgs: list[tuple[str, Any]] = [(f"{self.root}/selected", int(v))]
                for n in PAD_PARAMS:
                    if (sel, n) in self._values:
                        val = self._values[(sel, n)]
                        msgs.append((f"{self.root}/pad/selected/{n}", float(val)))
                        msgs += self._alias_msgs(sel, n, val, sel, only_selected=True)
            else:
                if pad > 0:
                    self._values[(pad, name)] = v
                if pad == 0 or name in GLOBAL_PARAMS:
                    msgs = [(f"{self.root}/{name}", float(v))]
                else:
                    msgs = [(f"{self.root}/pad/{pad}/{name}", float(v))]
                    if pad == sel:
                        msgs.append((f"{self.root}/pad/selected/{name}", float(v)))
                msgs += self._alias_msgs(pad, name, v, sel)
            setter = self._last_set.get((pad if pad != -1 else 0, name))
            for dest, source in subs:
                if setter is not None and source == setter[0] and now - setter[1] < ECHO_HOLD_S:
                    continue  # the fader that moved it is already there; an echo would fight it
                for address, value in msgs:
                    self._send(dest, address, value)

    def _alias_msgs(self, pad: int, name: str, v: float, sel: int,
                    only_selected: bool = False) -> list[tuple[str, Any]]:
        """Feedback for mapping aliases (e.g. a stock TouchOSC layout's /1/fader1), with the
        alias's range/curve undone so the fader sits where it would produce ``v``."""
        out: list[tuple[str, Any]] = []
        for addr, t in self._alias_feedback:
            if t.name != name:
                continue
            if t.kind == "global":
                hit = pad == 0 and not only_selected
            elif "{pad}" in addr:
                hit = pad > 0 and not only_selected
                addr = addr.replace("{pad}", str(pad))
            else:
                hit = t.pad == pad and not only_selected or (t.pad == SELECTED and pad == sel)
            if hit:
                out.append((addr, float(t.shape.inverse(v))))
        return out

    def stats_snapshot(self) -> dict[str, int]:
        d = self.stats.snapshot()
        d["subscribers"] = len(self._subs)
        return d


class _Dispatcher(Dispatcher):
    """python-osc's dispatcher with our routing: counts parse errors (the stock one swallows
    them), never sleeps on bundle time tags, never raises."""

    def __init__(self, owner: OscServer) -> None:
        super().__init__()
        self._owner = owner

    def call_handlers_for_packet(self, data: bytes, client_address: Addr) -> list:
        self._owner.handle_packet(data, client_address)
        return []


class _Server(BlockingOSCUDPServer):
    """Drains the socket in a tight loop on each wake-up. socketserver's own path (a select,
    a handler object and a shutdown call per datagram) reads ~20k packets/s here, so a
    flood from one sender filled the kernel buffer and other senders' packets were lost
    with the flood's: a refused packet must cost one ``recvfrom`` and one bucket check."""

    RCVBUF = 4 << 20          # bytes; the kernel caps it at net.core.rmem_max
    DRAIN = 512               # packets per wake-up, so shutdown() is still seen promptly

    def __init__(self, address: Addr, owner: OscServer) -> None:
        self._owner = owner
        super().__init__(address, _Dispatcher(owner))
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.RCVBUF)
        except OSError:
            pass
        self.socket.setblocking(False)

    def _handle_request_noblock(self) -> None:   # socketserver's hook for "the socket is readable"
        sock, owner = self.socket, self._owner
        for _ in range(self.DRAIN):
            try:
                data, client = sock.recvfrom(self.max_packet_size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.handle_error(None, None)
                return
            if self.verify_request((data, sock), client):
                try:
                    owner.handle_packet(data, client)
                except Exception:  # noqa: BLE001 - handle_packet never raises; a bug must not stop serving
                    self.handle_error((data, sock), client)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        owner = self._owner
        if not owner._allowed(client_address[0]):
            owner.stats.inc("rejected_sender")
            owner._warn.warn("reject", "OSC: packet from %s dropped (not in the allow-list)", client_address[0])
            return False
        data = request[0]
        if not data or data[:1] not in (b"/", b"#"):  # not OSC at all: skip the parser
            owner.stats.inc("malformed")
            owner._warn.warn("malformed", "OSC: non-OSC datagram from %s:%d dropped", *client_address)
            return False
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        self._owner.stats.inc("errors")
        self._owner._warn.warn("server", "OSC: error handling a packet from %s", client_address)


def _parse_allow(allow: Iterable[str] | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if not allow:
        return []
    nets = []
    for a in allow:
        try:
            nets.append(ipaddress.ip_network(a.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"OSC allow-list entry '{a}' is not an IP address or network "
                             "(e.g. 192.168.1.20 or 192.168.1.0/24)") from exc
    return nets


def state_values(state: dict) -> tuple[dict[tuple[int, str], float], dict[str, float]]:
    """Pad and global values from ``controls.state()``, tolerant of its layout: ``pads`` as a
    list (pad = index + 1, or an entry's ``pad``) or a dict keyed by pad number, values in
    the entry or under its ``params``; globals at the top or under ``globals``/``global``."""
    pads: dict[tuple[int, str], float] = {}
    globs: dict[str, float] = {}
    if not isinstance(state, dict):
        return pads, globs
    raw = state.get("pads")
    entries: list[tuple[int, Any]] = []
    if isinstance(raw, list):
        for i, e in enumerate(raw):
            num = e.get("pad", e.get("index", i + 1)) if isinstance(e, dict) else i + 1
            entries.append((num, e))
    elif isinstance(raw, dict):
        entries = list(raw.items())
    for num, e in entries:
        try:
            num = int(num)
        except (TypeError, ValueError):
            continue
        if not isinstance(e, dict):
            continue
        vals = e.get("params") if isinstance(e.get("params"), dict) else e
        for name in PAD_PARAMS:
            v = vals.get(name)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                pads[(num, name)] = float(v)
    for src in (state, state.get("globals"), state.get("global")):
        if isinstance(src, dict):
            for name in GLOBAL_PARAMS:
                v = src.get(name)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    globs[name] = float(v)
    return pads, globs
