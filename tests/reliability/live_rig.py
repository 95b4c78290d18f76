"""``drumgan live`` as a subprocess on a JACK dummy server, played and recorded by
``jack_player.py`` (its own process). Shared by the reliability tests and
benchmarks/bench_reliability.py.

The instrument runs with ``--per-pad-outputs``: ``drumgan:out_1/2`` is the stereo mix and
``drumgan:out_{2 + N}`` pad N alone, so each hit can be found on its own pad's recording
even while other pads sound.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pythonosc.osc_message_builder import OscMessageBuilder

ROOT = Path(__file__).resolve().parents[2]
PLAYER = Path(__file__).with_name("jack_player.py")
N_PADS = 16
MIDI, OSC = 0, 1
QUIET = 0.0             # silent: a pad's own output is exactly 0 while none of its voices plays (tails
                        # of untrained sounds dip under 1e-4 and rise again, so no threshold above 0)


def osc_msg(addr: str, *args) -> bytes:
    b = OscMessageBuilder(addr)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class LiveJack:
    """``drumgan live --random-model --per-pad-outputs`` on JACK server ``server`` (the native
    JACK backend, its own ``drumgan:midi_in``), OSC on a free port, stopping at ``duration``."""

    def __init__(self, server: str, log_path: Path, duration: float, extra: list[str] = ()):
        self.port = free_udp_port()
        self.log_path = log_path
        self._log = open(log_path, "w")
        env = dict(os.environ, JACK_DEFAULT_SERVER=server)
        self.t_start = time.monotonic()
        self.duration = duration
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "liveinstrument.cli", "live", "--random-model", "--headless", "--no-web",
             "--per-pad-outputs", "--osc-port", str(self.port), "--duration", str(duration), *extra],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ask(self, addr: str, timeout: float = 10.0) -> bytes | None:
        """Send ``addr`` (no arguments) and return the reply that starts with it (ping: pong)."""
        want = b"/drumgan/pong" if addr == "/drumgan/ping" else addr.encode()
        self.sock.settimeout(timeout)
        self.sock.sendto(osc_msg(addr), ("127.0.0.1", self.port))
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            try:
                data, _ = self.sock.recvfrom(1 << 16)
            except socket.timeout:
                return None
            if data.startswith(want):
                return data
        return None

    def state(self) -> dict:
        data = self.ask("/drumgan/state/json")
        assert data is not None, "no state reply over OSC"
        return json.loads(data[data.index(b"{"):data.rindex(b"}") + 1])

    def send(self, packet: bytes) -> None:
        self.sock.sendto(packet, ("127.0.0.1", self.port))

    def wait_ready(self, timeout: float = 150.0) -> dict:
        """Until OSC answers and every pad has its sound; the state then."""
        t_end = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"drumgan live exited: {self.log()[-3000:]}"
            assert time.monotonic() < t_end, f"drumgan live not ready in {timeout:.0f} s: {self.log()[-3000:]}"
            if self.ask("/drumgan/ping", 1.0) is not None:
                st = self.state()
                if all(p["ready"] for p in st["pads"]):
                    return st
            time.sleep(0.3)

    def left_s(self) -> float:
        """Seconds until --duration ends the run."""
        return self.t_start + self.duration - time.monotonic()

    def wait_exit(self, grace: float = 15.0) -> dict:
        """Wait for the run to end by itself at --duration; its summary (the last JSON line)."""
        try:
            self.proc.wait(max(0.0, self.left_s()) + grace)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"drumgan live still running {grace:.0f} s after --duration") from None
        assert self.proc.returncode == 0, f"exit code {self.proc.returncode}: {self.log()[-3000:]}"
        return json.loads(self.log().strip().splitlines()[-1])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.sock.close()
        self._log.close()


@dataclass
class Schedule:
    """Items for jack_player.py: (cycle, frame offset, MIDI or OSC, payload)."""
    items: list[tuple[int, int, int, bytes]] = field(default_factory=list)

    def add(self, cycle: int, offset: int, kind: int, payload: bytes) -> int:
        self.items.append((cycle, offset, kind, bytes(payload)))
        return len(self.items) - 1

    def save(self, path: Path) -> list[int]:
        """Write it sorted by (cycle, offset); returns each added item's index in the file."""
        order = sorted(range(len(self.items)), key=lambda i: (self.items[i][0], self.items[i][1]))
        where = [0] * len(order)
        for k, i in enumerate(order):
            where[i] = k
        its = [self.items[i] for i in order]
        lens = np.array([len(p) for *_, p in its], np.int64)
        np.savez(path, cycle=np.array([c for c, *_ in its], np.int64),
                 offset=np.array([o for _, o, *_ in its], np.int64),
                 kind=np.array([k for _, _, k, _ in its], np.uint8),
                 blob=np.frombuffer(b"".join(p for *_, p in its), np.uint8),
                 start=np.concatenate([[0], np.cumsum(lens)]))
        return where


def play(server: str, schedule: Schedule, tmp: Path, osc_port: int = 0, full: bool = False,
         tail: int = 200) -> tuple[dict, list[int]]:
    """Play ``schedule`` into drumgan, recording the mix and every pad's output; the recording
    (see jack_player.py) and each added item's index in it."""
    sch, out = tmp / "schedule.npz", tmp / "recording.npz"
    where = schedule.save(sch)
    ports = [f"drumgan:out_{k}" for k in range(1, 3 + N_PADS)]
    cmd = [sys.executable, str(PLAYER), "--server", server, "--schedule", str(sch), "--out", str(out),
           "--osc-port", str(osc_port), "--tail", str(tail), *[x for p in ports for x in ("--record", p)]]
    if full:
        cmd.append("--full")
    last = max((c for c, *_ in schedule.items), default=0)
    subprocess.run(cmd, check=True, timeout=60 + 3 * (last + tail) * 128 / 44_100, cwd=ROOT)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}, where


def pad_onsets(peaks: np.ndarray, quiet: float = QUIET, silent_cycles: int = 8) -> np.ndarray:
    """Cycle indices where a pad's output rises above ``quiet`` after at least
    ``silent_cycles`` silent cycles (a hit starting on a silent pad)."""
    loud = peaks > quiet
    out = []
    run = silent_cycles          # the recording starts silent
    for k, x in enumerate(loud):
        if x:
            if run >= silent_cycles:
                out.append(k)
            run = 0
        else:
            run += 1
    return np.array(out, np.int64)


def cycle_of(rec: dict, frame: int) -> int:
    """Recorded cycle index holding JACK frame ``frame`` (-1: outside the recording)."""
    cf = rec["cycle_frame"]
    k = int(np.searchsorted(cf, frame, side="right")) - 1
    return k if 0 <= k < len(cf) and cf[k] >= 0 and frame < cf[k] + int(rec["period"]) else -1


def check_hits(rec: dict, sent_frames: list[int], pads: list[int], max_cycles: int = 35) -> dict:
    """Every intended hit (JACK frame it was sent at, pad) starts a sound on its pad's output
    within ``max_cycles`` after the cycle it was sent in, and no pad starts a sound nobody
    sent. Returns figures: hits found, latency in cycles, unexpected onsets, peaks."""
    peaks = rec["peaks"]
    found, lat, missing = 0, [], []
    expected = {p: [] for p in range(1, N_PADS + 1)}
    for f, p in zip(sent_frames, pads):
        k0 = cycle_of(rec, int(f))
        col = peaks[:, 1 + p]
        assert k0 >= 0, f"hit sent at frame {f} is outside the recording"
        hit = np.flatnonzero(col[k0 + 1:k0 + 1 + max_cycles] > QUIET)
        if hit.size and not (col[max(0, k0 - 8):k0 + 1] > QUIET).any():
            found += 1
            lat.append(int(hit[0]) + 1)
            expected[p].append(k0 + 1 + int(hit[0]))
        else:
            missing.append((int(f), p, float(col[max(0, k0 - 8):k0 + 1].max()),
                            float(col[k0 + 1:k0 + 1 + max_cycles].max(initial=0.0))))
    unexpected = 0
    for p in range(1, N_PADS + 1):
        on = set(pad_onsets(peaks[:, 1 + p]).tolist())
        unexpected += len(on - set(expected[p]))
    return {"found": found, "missing": missing, "latency_cycles": lat, "unexpected": unexpected,
            "mix_peak": float(np.max(peaks[:, :2])), "finite": bool(np.isfinite(peaks).all()),
            "pad_peak": float(np.max(peaks[:, 2:]))}
