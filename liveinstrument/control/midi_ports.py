"""MIDI auto-connect: every hardware MIDI controller reaches the instrument, also ones plugged in later.

``drumgan live`` without ``--midi-in`` opens its own virtual input and starts one of these:

* :class:`JackAutoConnect` (JACK MIDI): a JACK-Client client watches port registrations and
  connects every *physical* MIDI output (a USB controller, bridged into JACK by jackd's ALSA
  MIDI driver ``-X seq``/``-X raw`` or by a2jmidid) to the instrument's virtual input port.
  JACK merges them, so one input serves all controllers.
* :class:`AlsaAutoConnect` (ALSA sequencer): rtmidi cannot connect two other ports, so each
  hardware port (a *kernel* client in ``/proc/asound/seq/clients``, not System or Midi
  Through) gets its own rtmidi input feeding the same router.

Software ports (a DAW, a sequencer) are not connected automatically: they may already route
to the instrument, and a doubled note is worse than a missing one; connect those by hand.

Discovery and connection live here, apart from reading MIDI (``midi_in``), so the reading
side can change (e.g. a native JACK reader) without touching this. Both watchers run one
daemon thread that wakes on a port event (JACK) or every ``poll_s`` seconds, and never raise
into it: a failed connection is logged once and retried on the next change.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from liveinstrument import jack_clients
from liveinstrument.control.common import RateLimitedLog, log

if TYPE_CHECKING:
    from liveinstrument.control.midi_in import MidiInput, MidiRouter

ALSA_CLIENTS = Path("/proc/asound/seq/clients")
_ALSA_SYSTEM_CLIENTS = {0, 14}     # System (timer, announce), Midi Through
_CLIENT_RE = re.compile(r'^Client\s+(\d+)\s*:\s*"(.*)"\s*\[(\w+)', re.M)
_PORT_ADDR_RE = re.compile(r"(\d+):(\d+)$")


class AutoConnect:
    """Common face of the watchers: ``start()``, ``stop()``, :attr:`connected` (port names)."""

    kind = "?"

    def __init__(self, poll_s: float = 1.0) -> None:
        self.poll_s = poll_s
        self._connected: tuple[str, ...] = ()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._warn = RateLimitedLog(log, 30.0)

    @property
    def connected(self) -> list[str]:
        """Sources connected right now (as of the last sync), for the status view."""
        return list(self._connected)

    def start(self) -> "AutoConnect":
        self._open()
        self._sync_safely()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"midi-autoconnect-{self.kind}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
            self._thread = None
        self._close()

    def rescan(self) -> None:
        """Ask for a sync now (a port appeared or vanished)."""
        self._wake.set()

    def describe(self) -> str:
        ports = ", ".join(self._connected) or "none yet (plug one in: it connects by itself)"
        return f"MIDI auto-connect ({self.kind}): {ports}"

    # -- internals -----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._sync_safely()

    def _sync_safely(self) -> None:
        try:
            self._sync()
        except Exception as exc:  # the watcher must outlive any JACK/ALSA hiccup
            self._warn.warn("sync", "MIDI auto-connect (%s): %s", self.kind, exc)

    def _open(self) -> None:
        raise NotImplementedError

    def _sync(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class JackAutoConnect(AutoConnect):
    """Connect every physical JACK MIDI output to ``dest`` (``client:port`` of our virtual input)."""

    kind = "JACK"

    def __init__(self, dest: str, jack_server: str | None = None, client_name: str = "drumgan-ports",
                 poll_s: float = 1.0) -> None:
        super().__init__(poll_s)
        self.dest, self.jack_server, self.client_name = dest, jack_server, client_name
        self._client = None
        self._lost = threading.Event()         # the server went away; reopen when it is back

    def _open(self) -> None:
        try:
            import jack
        except (ImportError, OSError) as exc:
            from liveinstrument.control.midi_in import MidiPortError
            raise MidiPortError(f"MIDI auto-connect needs JACK-Client and libjack ({exc}): "
                                "pip install JACK-Client, or connect your controller to the "
                                f"instrument's port {self.dest} by hand") from exc
        server = self.jack_server or os.environ.get("JACK_DEFAULT_SERVER") or None
        self._client = jack.Client(self.client_name, servername=server, no_start_server=True)
        # JACK calls these on its notification thread, where no server request may be made:
        # they only wake our own thread, which connects.
        self._client.set_port_registration_callback(lambda port, registered: self._wake.set(),
                                                     only_available=False)
        self._client.set_shutdown_callback(lambda status, reason: self._server_gone())
        self._client.activate()

    def _server_gone(self) -> None:
        jack_clients.lost(id(self))
        self._lost.set()
        self._wake.set()

    def _rejoin(self) -> None:
        """After the server went away: close the dead client at once (see jack_clients), then
        try to open a new one on each wake-up until a server answers."""
        import jack
        if self._client is not None:
            c, self._client = self._client, None
            jack.set_error_function(lambda _msg: None)
            try:
                c.close()                      # no deactivate: the server is gone
            except Exception:  # noqa: BLE001 - a zombie may refuse; it is gone either way
                pass
            finally:
                jack.set_error_function(None)
                jack_clients.closed(id(self))
            self._connected = ()
            return
        if not jack_clients.safe_to_open():
            return
        jack.set_error_function(lambda _msg: None)
        try:
            self._open()
        except Exception:  # noqa: BLE001 - no server yet: the next wake-up tries again
            self._client = None
            return
        finally:
            jack.set_error_function(None)
        self._lost.clear()
        log.info("MIDI auto-connect (JACK): the server is back, watching its ports again")
        self._sync()

    def _dest_port(self):
        c = self._client
        try:
            return c.get_port_by_name(self.dest)
        except Exception:
            # JACK renamed our client (another instrument holds the name): find ours by port name
            client, _, port = self.dest.partition(":")
            for p in c.get_ports(is_midi=True, is_input=True):
                pc, _, pp = p.name.partition(":")
                if pp == port and pc.startswith(client):
                    return p
        return None

    def _sync(self) -> None:
        if self._lost.is_set():
            self._rejoin()
            return
        c = self._client
        if c is None or self._stop.is_set():
            return
        dest = self._dest_port()
        if dest is None:
            self._warn.warn("dest", "MIDI auto-connect: the instrument's port %s is gone", self.dest)
            self._connected = ()
            return
        have = {p.name for p in c.get_all_connections(dest)}
        for src in c.get_ports(is_midi=True, is_output=True, is_physical=True):
            if src.name in have:
                continue
            try:
                c.connect(src, dest)
                have.add(src.name)
                log.info("MIDI auto-connect: %s -> %s", src.name, dest.name)
            except Exception as exc:  # vanished in between, or refused: next event retries
                self._warn.warn(f"connect:{src.name}", "MIDI auto-connect: %s -> %s failed: %s",
                                src.name, dest.name, exc)
        physical = {p.name for p in c.get_ports(is_midi=True, is_output=True, is_physical=True)}
        self._connected = tuple(sorted(n for n in have if n in physical))

    def _close(self) -> None:
        c, self._client = self._client, None
        if c is not None:
            try:
                if not self._lost.is_set():
                    c.deactivate()
                c.close()
            except Exception:
                pass
            jack_clients.closed(id(self))


def alsa_hardware_clients(text: str) -> dict[int, str]:
    """Kernel (hardware) sequencer clients from ``/proc/asound/seq/clients`` text: id -> name,
    without System and Midi Through."""
    return {int(cid): name for cid, name, kind in _CLIENT_RE.findall(text)
            if kind.lower() == "kernel" and int(cid) not in _ALSA_SYSTEM_CLIENTS}


def alsa_port_client(port_name: str) -> int | None:
    """The client number of an rtmidi ALSA port name (``"nanoPAD2:nanoPAD2 MIDI 1 20:0"`` -> 20)."""
    m = _PORT_ADDR_RE.search(port_name.strip())
    return int(m.group(1)) if m else None


class AlsaAutoConnect(AutoConnect):
    """Open an rtmidi input on every hardware ALSA port, feeding ``router``; close it when unplugged."""

    kind = "ALSA"

    def __init__(self, router: "MidiRouter", client_name: str = "drumgan", poll_s: float = 1.0,
                 clients_file: Path = ALSA_CLIENTS) -> None:
        super().__init__(poll_s)
        self.router, self.client_name, self.clients_file = router, client_name, clients_file
        self._inputs: dict[str, "MidiInput"] = {}
        self._lister = None

    def _open(self) -> None:
        import rtmidi
        self._lister = rtmidi.MidiIn(rtmidi.API_LINUX_ALSA, name=f"{self.client_name}-ports")

    def _sync(self) -> None:
        from liveinstrument.control.midi_in import MidiInput
        if self._lister is None:
            return
        hw = alsa_hardware_clients(self.clients_file.read_text(errors="replace"))
        ports = [p for p in self._lister.get_ports() if alsa_port_client(p) in hw]
        for name in [n for n in self._inputs if n not in ports]:      # unplugged
            self._inputs.pop(name).close()
            log.info("MIDI auto-connect: %s gone", name)
        for name in ports:
            if name in self._inputs:
                continue
            addr = _PORT_ADDR_RE.search(name)
            port_name = f"auto_{addr.group(1)}_{addr.group(2)}" if addr else "auto"
            try:
                self._inputs[name] = MidiInput(self.router, name, api="alsa", client_name=self.client_name,
                                               port_name=port_name).open()
                log.info("MIDI auto-connect: %s", name)
            except Exception as exc:
                self._warn.warn(f"open:{name}", "MIDI auto-connect: cannot open %s: %s", name, exc)
        self._connected = tuple(sorted(self._inputs))

    def _close(self) -> None:
        for m in self._inputs.values():
            try:
                m.close()
            except Exception:
                pass
        self._inputs.clear()
        if self._lister is not None:
            self._lister.delete()
            self._lister = None
