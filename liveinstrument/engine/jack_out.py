"""Audio out (and MIDI in) as a JACK client whose process callback is the C core.

``native/jack_backend.c`` registers the client, its audio outputs and one JACK MIDI input;
JACK calls its C ``process`` for every cycle, which parses the cycle's MIDI events into a
preallocated ring (each message keeps its JACK frame) and renders the block through the
same core ``AudioOut`` hands to PortAudio. No Python runs in JACK's thread.

A Python thread waits (GIL released, on a semaphore the callback posts) for MIDI, pops the
ring and calls ``midi_feed(bytes, at)``, with ``at`` the sample time the mixer's timing mode
gives that frame: ``constant`` = arrival frame + one block (every note the same latency,
sample-accurate), ``immediate`` = -1 (offset 0 of the next block). The control layer passes
its ``MidiRouter.feed`` (the engine does not import control).

A server that stops (or throws the client out) is noticed by libjack's shutdown callback; the
owner's :meth:`JackOut.housekeeping` says so in one line and reconnects, once a second and
quietly, until a server of that name answers again, then plays on with the same state.
"""
from __future__ import annotations

import ctypes as C
import logging
import os
import threading
import time
from typing import Callable, Sequence

import numpy as np

from .. import jack_clients
from . import native_core as nc
from .audio_out import _GcGuard, timing_summary
from .instrument import Instrument

log = logging.getLogger("drumgan.engine")
MIDI_RING = 4096                       # messages between two wake-ups of the MIDI thread
MIDI_RT_PRIORITY = 5                   # SCHED_FIFO, below JACK's audio threads (10 and up)
RECONNECT_S = 1.0                      # between tries to reach a server that went away
MidiFeed = Callable[[Sequence[int], int], None]


class JackError(RuntimeError):
    """No JACK server, no libjack, or the client could not be set up (the message says which)."""


class JackOut:
    """The instrument as JACK client ``client_name`` on ``server`` (default: $JACK_DEFAULT_SERVER).

    Ports: ``out_1``/``out_2`` (+ one per pad with per-pad outputs) and ``midi_in``. The stereo
    pair is connected to ``system:playback_1/2`` when those exist (``connect_playback``).
    ``midi_feed`` may be given later with :meth:`set_midi_feed` (before or after start).
    """

    def __init__(self, instrument: Instrument, server: str | None = None, client_name: str = "drumgan",
                 channels: int = 2, midi_in: bool = True, midi_feed: MidiFeed | None = None,
                 connect_playback: bool = True):
        self.inst = instrument
        self._mixer = instrument.mixer
        self._lib = nc.lib()
        self.server = server or os.environ.get("JACK_DEFAULT_SERVER") or ""
        self.client_name = client_name
        self.channels = channels
        self._midi_in = midi_in
        self._feed = midi_feed
        self._connect_playback = connect_playback
        self._ring = np.zeros(nc.RING_HDR_BYTES + MIDI_RING * nc.MIDI_BYTES, np.uint8)
        self._lib.rt_ring_init(nc.addr(self._ring), MIDI_RING, nc.MIDI_BYTES)
        self._ring_idx = self._ring[:nc.RING_HDR_BYTES].view(np.int64)     # [17] dropped
        self._recs = (nc.MidiRec * 256)()
        self._handle = None
        self._gc = _GcGuard()                  # 0.5 ms switch interval: the MIDI thread gets the GIL fast
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samplerate = 0
        self.blocksize = 0
        self.device_name = f"JACK ({self.server or 'default'} server, core as client {client_name})"
        self.midi_messages = 0
        self.midi_thread_policy = "?"
        self.server_lost = 0                   # times the server went away under us
        self._lost = False
        self._next_try = 0.0
        self._rate_warned = False

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "JackOut":
        self._open()
        self._gc.enter()
        return self

    def _open(self) -> None:
        """Open the client, check its rate, connect playback and start the MIDI thread."""
        err = C.create_string_buffer(256)
        h = self._lib.rt_jack_open(self._mixer.handle, self.client_name.encode(), self.server.encode(),
                                   self.channels, int(self._midi_in), nc.addr(self._ring), err, len(err))
        if not h:
            raise JackError(err.value.decode(errors="replace"))
        rate = self._lib.rt_jack_rate(h)
        if rate != self.inst.sample_rate:
            self._lib.rt_jack_close(h)
            raise JackError(f"JACK runs at {rate} Hz, the instrument at {self.inst.sample_rate} Hz: "
                            f"start the instrument with --samplerate {rate}")
        self._handle = h
        self.samplerate = rate
        self.blocksize = self._lib.rt_jack_period(h)
        if self._connect_playback:
            for k in range(min(2, self.channels)):
                self.connect(self.port_name(k), f"system:playback_{k + 1}")   # absent: stays unconnected
        if self._midi_in:
            self._stop.clear()
            self._thread = threading.Thread(target=self._midi_loop, args=(h,), name="jack-midi", daemon=True)
            self._thread.start()

    def _close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        if self._handle:
            self._lib.rt_jack_close(self._handle)
            self._handle = None

    def stop(self) -> None:
        was_open = self._handle is not None or self._lost
        self._close()
        self._lost = False
        if was_open:
            self._gc.exit()

    close = stop

    def __enter__(self) -> "JackOut":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ ports
    def port_name(self, index: int) -> str:
        """Full JACK name of output ``index`` (0-based); ``channels`` is the MIDI input."""
        name = self._lib.rt_jack_port_name(self._handle, index) if self._handle else None
        if name is None:
            raise JackError(f"no port {index} (client not started?)")
        return name.decode()

    @property
    def midi_port_name(self) -> str:
        return self.port_name(self.channels)

    def connect(self, src: str, dst: str) -> bool:
        """Connect two JACK ports by full name; False when either is missing."""
        return self._handle is not None and self._lib.rt_jack_connect(self._handle, src.encode(), dst.encode()) == 0

    def set_midi_feed(self, feed: MidiFeed | None) -> None:
        """Where MIDI goes: ``feed(message_bytes, at)`` (e.g. ``MidiRouter.feed``)."""
        self._feed = feed

    # ------------------------------------------------------------ MIDI thread
    def _raise_priority(self) -> None:
        """A note must be routed within one block (constant timing stamps it arrival + one
        block): on a busy machine a SCHED_OTHER thread is woken too late for that now and then.
        Real-time priority below JACK's own threads where the system allows it (as JACK's
        audio group does); otherwise the thread runs as it is and late notes are counted."""
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(MIDI_RT_PRIORITY))   # this thread (Linux)
            self.midi_thread_policy = "FIFO"
        except (AttributeError, OSError):
            self.midi_thread_policy = "OTHER"

    def _midi_loop(self, h) -> None:
        self._raise_priority()
        lib, ring, recs = self._lib, nc.addr(self._ring), self._recs
        stamp = self._mixer.stamp
        while not self._stop.is_set() and lib.rt_jack_alive(h):
            lib.rt_midi_wait(h, 100)                  # ctypes drops the GIL while it waits
            while True:
                n = lib.rt_midi_pop(ring, C.addressof(recs), len(recs))
                if n <= 0:
                    break
                feed = self._feed
                for i in range(n):
                    r = recs[i]
                    self.midi_messages += 1
                    if feed is None:
                        continue
                    try:
                        feed(bytes(r.data[:r.len]), stamp(r.frame))
                    except Exception:                 # a bug in a handler must not end MIDI
                        log.exception("JACK MIDI handler failed")

    # ------------------------------------------------------------ read-outs
    @property
    def connected(self) -> bool:
        """True while the client runs on a live server."""
        return bool(self._handle) and bool(self._lib.rt_jack_alive(self._handle))

    def housekeeping(self) -> None:
        """Call a few times a second from the owner's loop (JACK calls the C core by itself):
        notices a server that went away, says so once, and reconnects when it is back."""
        now = time.monotonic()
        if self._handle:
            if self._lib.rt_jack_alive(self._handle):
                return
            self.server_lost += 1
            self._lost = True
            log.warning("JACK server '%s' stopped or dropped the instrument: no sound until it is back "
                        "(reconnecting every %.0f s; the pads keep their state)", self.server or "default", RECONNECT_S)
            jack_clients.lost(id(self))
            self._lib.rt_jack_quiet(1)        # closing a client whose server is gone prints libjack errors
            try:
                self._close()
            finally:
                self._lib.rt_jack_quiet(0)
                jack_clients.closed(id(self))
            self._next_try = now + RECONNECT_S
            return
        if not self._lost or now < self._next_try or not jack_clients.safe_to_open():
            return
        self._next_try = now + RECONNECT_S
        self._lib.rt_jack_quiet(1)            # five libjack lines per try while no server answers
        try:
            self._open()
        except JackError as exc:
            if "Hz" in str(exc) and not self._rate_warned:
                self._rate_warned = True
                log.warning("JACK server '%s' is back but %s; still waiting", self.server or "default", exc)
            return
        finally:
            self._lib.rt_jack_quiet(0)
        self._lost = False
        self._rate_warned = False
        log.warning("JACK server '%s' is back: playing again as %s (%d frames); reconnect MIDI and audio "
                    "sources that are not connected automatically", self.server or "default",
                    self.client_name, self.blocksize)

    def stats(self) -> dict:
        s = timing_summary(self._mixer, (self.blocksize or 128) / (self.samplerate or self.inst.sample_rate))
        s["xruns"] = int(self._mixer.stats[nc.ST_JACK_XRUNS])
        s["device"] = self.device_name
        s["blocksize"] = self.blocksize
        s["samplerate"] = self.samplerate
        s["midi_in"] = self.midi_messages
        s["midi_dropped"] = int(self._ring_idx[17])
        s["midi_thread_policy"] = self.midi_thread_policy
        s["jack"] = "lost" if self._lost else "connected" if self._handle else "closed"
        s["server_lost"] = self.server_lost
        return s


def jack_server_rate(server: str | None = None) -> int | None:
    """The sample rate of a running JACK server (None: no libjack or no server); starts nothing."""
    try:
        import jack
    except (ImportError, OSError):
        return None
    # libjack prints five lines to stderr when no server runs; asking is not an error here
    jack.set_error_function(lambda _msg: None)
    try:
        c = jack.Client("drumgan-probe", servername=server or os.environ.get("JACK_DEFAULT_SERVER") or None,
                        no_start_server=True)
    except jack.JackError:
        return None
    finally:
        jack.set_error_function(None)      # libjack's default again, for real errors later
    try:
        return int(c.samplerate)
    finally:
        c.close()
