"""Defensive checks in front of python-osc: a packet that could wedge or flood us is dropped.

python-osc's bundle parser loops forever on an element size <= 0 (a 28-byte ``#bundle``
with size -4 spins the OSC thread at 100 % for good). :func:`check_packet` walks the
packet's structure first, in bounded time, and rejects any size, count or nesting depth
out of range, so the real parser only ever sees well-formed packets.
:class:`SenderLimit` caps each sender's packet rate (token bucket), and
:func:`rate_limit_library_logs` puts a per-message rate limit on every log handler, so a
library's own lines (python-osc logs through the root logger) cannot flood the log either.
"""
from __future__ import annotations

import logging
import struct
import time

MAX_PACKET = 65_536
MAX_DEPTH = 4                 # nested bundles
MAX_ELEMENTS = 256            # messages + bundles in one packet
MAX_ARGS = 64                 # per message, arrays included
_FIXED = {"i": 4, "f": 4, "c": 4, "r": 4, "m": 4, "h": 8, "d": 8, "t": 8,
          "T": 0, "F": 0, "N": 0, "I": 0}


class BadPacket(ValueError):
    """Why a packet was rejected (one short phrase)."""


def _string_end(data: bytes, i: int, end: int) -> int:
    """Offset after the NUL-terminated, 4-byte padded string starting at ``i``."""
    j = data.find(b"\0", i, end)
    if j < 0:
        raise BadPacket("unterminated string")
    j = (j // 4 + 1) * 4
    if j > end:
        raise BadPacket("string padding past the end")
    return j


def _check_message(data: bytes, i: int, end: int) -> None:
    if data[i:i + 1] != b"/":
        raise BadPacket("element is neither a message nor a bundle")
    i = _string_end(data, i, end)
    if i == end:
        return                                    # no type tags: python-osc accepts it
    if data[i:i + 1] != b",":
        raise BadPacket("missing type tag string")
    j = _string_end(data, i, end)
    tags = data[i + 1:data.find(b"\0", i, end)].decode("latin-1")
    if len(tags) > MAX_ARGS:
        raise BadPacket(f"more than {MAX_ARGS} arguments")
    i, depth = j, 0
    for t in tags:
        if t in _FIXED:
            i += _FIXED[t]
        elif t in "sS":
            i = _string_end(data, i, end) if i < end else end + 1
        elif t == "b":
            if i + 4 > end:
                raise BadPacket("blob size past the end")
            (n,) = struct.unpack_from(">i", data, i)
            if n < 0:
                raise BadPacket("negative blob size")
            i += 4 + (n + 3) // 4 * 4
        elif t == "[":
            depth += 1
            if depth > MAX_DEPTH:
                raise BadPacket("arrays nested too deep")
        elif t == "]":
            depth -= 1
            if depth < 0:
                raise BadPacket("unbalanced array")
        else:
            raise BadPacket(f"unknown type tag {t!r}")
        if i > end:
            raise BadPacket("arguments past the end")
    if depth:
        raise BadPacket("unbalanced array")


def check_packet(data: bytes) -> None:
    """Raise :class:`BadPacket` unless ``data`` is a structurally sound OSC packet within
    our limits. Bounded: each step moves forward by at least 4 bytes."""
    if not data or len(data) > MAX_PACKET:
        raise BadPacket("empty or oversized packet")
    if len(data) % 4:
        raise BadPacket("size not a multiple of 4")
    count = [0]

    def walk(i: int, end: int, depth: int) -> None:
        count[0] += 1
        if count[0] > MAX_ELEMENTS:
            raise BadPacket(f"more than {MAX_ELEMENTS} elements")
        if data[i:i + 8] != b"#bundle\0":
            _check_message(data, i, end)
            return
        if depth >= MAX_DEPTH:
            raise BadPacket("bundles nested too deep")
        i += 16                                   # "#bundle\0" + time tag
        if i > end:
            raise BadPacket("bundle shorter than its header")
        while i < end:
            if i + 4 > end:
                raise BadPacket("bundle element size cut off")
            (n,) = struct.unpack_from(">i", data, i)
            if n <= 0 or n % 4 or i + 4 + n > end:
                raise BadPacket(f"bundle element size {n} out of range")
            walk(i + 4, i + 4 + n, depth + 1)
            i += 4 + n

    walk(0, len(data), 0)


DEFAULT_RATE = 3_000.0      # packets/s per sender (3x a Max patch at 1 kHz; a 16-fader sweep at 190 Hz)


class SenderLimit:
    """Per-sender token bucket: ``rate`` packets/s sustained, ``burst`` at once (default one
    second's worth: a preset dump or a multi-fader sweep passes whole); ``rate`` 0 = no cap.
    Senders are forgotten after a quiet minute, and at most ``max_senders`` are tracked
    (spoofed source addresses cannot grow the table). ``dropped`` counts refusals."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: float | None = None, max_senders: int = 1024) -> None:
        self.rate, self.max_senders = float(rate), max_senders
        self.burst = float(burst) if burst is not None else max(self.rate, 100.0)
        self.dropped = 0
        self._b: dict[str, list[float]] = {}

    def allow(self, sender: str, now: float | None = None) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic() if now is None else now
        b = self._b.get(sender)
        if b is None:
            if len(self._b) >= self.max_senders:
                self._b = {k: v for k, v in self._b.items() if now - v[1] < 60.0}
                if len(self._b) >= self.max_senders:
                    self.dropped += 1
                    return False
            b = self._b[sender] = [self.burst, now]
        b[0] = min(self.burst, b[0] + (now - b[1]) * self.rate)
        b[1] = now
        if b[0] < 1.0:
            self.dropped += 1
            return False
        b[0] -= 1.0
        return True


class _RateFilter(logging.Filter):
    """At most ``burst`` records per (logger, message template) per ``interval`` s; the next
    one after a quiet spell says how many were dropped."""

    def __init__(self, interval: float = 10.0, burst: int = 5) -> None:
        super().__init__("drumgan-rate-limit")
        self.interval, self.burst = interval, burst
        self._seen: dict[tuple[str, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg)[:200])
        now = time.monotonic()
        s = self._seen.get(key)
        if s is None:
            if len(self._seen) > 4096:
                self._seen.clear()
            s = self._seen[key] = [now, 0.0, 0.0]      # window start, count, dropped
        if now - s[0] > self.interval:
            if s[2]:
                record.msg = f"{record.msg} ({int(s[2])} more like this were not logged)"
            s[0], s[1], s[2] = now, 0.0, 0.0
        s[1] += 1
        if s[1] > self.burst:
            s[2] += 1
            return False
        return True


def rate_limit_library_logs(interval: float = 10.0, burst: int = 5) -> None:
    """Rate-limit every handler on the root logger (call after logging is configured), and
    give python-osc's root-logger lines their own logger level: warnings and up only."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING)
    for h in root.handlers:
        if not any(isinstance(f, _RateFilter) for f in h.filters):
            h.addFilter(_RateFilter(interval, burst))
