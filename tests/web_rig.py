"""Pieces the browser tests and benchmarks/bench_web.py share: a headless Chromium
(Debian's chromium + chromium-driver through Selenium) and a JACK client that records the
instrument's output continuously, indexed by JACK frame time, so a click's sound can be
found in the recording."""
from __future__ import annotations

import shutil
import time

import numpy as np


def until(pred, timeout: float = 10.0, what: str = "condition"):
    """Poll ``pred`` until it returns something true; that value, or AssertionError."""
    t_end = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > t_end:
            raise AssertionError(f"{what} not reached in {timeout:.0f} s")
        time.sleep(0.02)


def chromium(width: int = 1280, height: int = 860, log_console: bool = False):
    """A headless Chromium WebDriver (the caller quits it); None when chromedriver is missing."""
    driver = shutil.which("chromedriver")
    if not driver:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={width},{height}", "--disable-extensions", "--mute-audio"):
        o.add_argument(a)
    if log_console:
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=o, service=Service(driver))


def open_page(drv, url: str, timeout: float = 20.0) -> None:
    """Load the control page and wait until its WebSocket has said hello."""
    drv.get(url)
    until(lambda: drv.execute_script("return window.drumgan && window.drumgan.ready"), timeout, "page ready")


class JackRecorder:
    """A JACK client recording two input ports into one preallocated buffer from activation on.

    ``frame_at(i)``: JACK frame time of recorded sample ``i``; :meth:`onset_after` finds the
    first sample above a threshold after a given JACK frame. The process callback only copies
    into the preallocated buffer (numpy slices; it runs on JACK-Client's Python thread)."""

    def __init__(self, server: str, seconds: float, name: str = "web_rec"):
        import jack
        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.rate = self.client.samplerate
        self.ins = [self.client.inports.register(f"in_{i}") for i in (1, 2)]
        self.buf = np.zeros((int(seconds * self.rate), 2), np.float32)
        self.start_frame = -1
        self.n = 0
        self.xruns = 0
        self.gaps = 0
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)

    def _xrun(self, delay_usecs: float) -> None:
        self.xruns += 1

    def _process(self, frames: int) -> None:
        # written at the cycle's own frame time: a cycle this client missed stays a gap of
        # zeros instead of shifting every later sample against the JACK clock
        t = self.client.last_frame_time
        if self.start_frame < 0:
            self.start_frame = t
        i = t - self.start_frame
        if i < 0 or i + frames > self.buf.shape[0]:
            return
        if i != self.n:
            self.gaps += 1
        self.buf[i:i + frames, 0] = self.ins[0].get_array()
        self.buf[i:i + frames, 1] = self.ins[1].get_array()
        self.n = i + frames

    def connect_to(self, prefix: str = "PortAudio") -> None:
        """Activate and connect the first two audio outputs whose names start with ``prefix``."""
        self.client.activate()
        outs = [p for p in self.client.get_ports(is_output=True, is_audio=True) if p.name.startswith(prefix)]
        assert len(outs) >= 2, f"engine output ports not found: {[p.name for p in self.client.get_ports()]}"
        for src, dst in zip(outs[:2], self.ins):
            self.client.connect(src, dst)
        until(lambda: self.n > 0, 5.0, "recording started")

    def now(self) -> int:
        """The current JACK frame time (interpolated within the cycle)."""
        return self.client.frame_time

    def index_of(self, frame: int) -> int:
        return int(frame - self.start_frame)

    def onset_after(self, frame: int, threshold: float = 1e-4, timeout: float = 3.0,
                    quiet_before_s: float = 0.05) -> int:
        """Recorded index of the first sample over ``threshold`` at or after JACK frame ``frame``
        (waits for it). Asserts that the ``quiet_before_s`` before ``frame`` were silent, so the
        onset cannot be the tail of an earlier sound."""
        i0 = self.index_of(frame)
        t_end = time.monotonic() + timeout
        while True:
            n = self.n
            if i0 < n:
                seg = np.max(np.abs(self.buf[i0:n]), axis=1)
                hit = np.flatnonzero(seg > threshold)
                if hit.size:
                    q0 = max(0, i0 - int(quiet_before_s * self.rate))
                    pre = float(np.max(np.abs(self.buf[q0:i0]))) if i0 > q0 else 0.0
                    assert pre <= threshold, (f"not silent before the mark (peak {pre:.2e} at "
                                              f"{q0 + int(np.argmax(np.max(np.abs(self.buf[q0:i0]), axis=1)))}, "
                                              f"mark {i0}, recorded {n}, onset {i0 + int(hit[0])})")
                    return i0 + int(hit[0])
            if time.monotonic() > t_end:
                raise AssertionError(f"no sound within {timeout:.1f} s of frame {frame}")
            time.sleep(0.005)

    def segment(self, start: int, seconds: float, wait: bool = True) -> np.ndarray:
        """Recorded samples [start, start + seconds) as mono (mean of the two channels)."""
        end = start + int(seconds * self.rate)
        if wait:
            until(lambda: self.n >= end, seconds + 5.0, "recording caught up")
        return self.buf[start:end].mean(axis=1).copy()

    def wait_quiet(self, seconds: float = 0.1, threshold: float = 1e-4, timeout: float = 5.0) -> None:
        """Until the last ``seconds`` of the recording were silent (the previous hit has ended)."""
        k = int(seconds * self.rate)
        until(lambda: self.n > k and float(np.max(np.abs(self.buf[self.n - k:self.n]))) <= threshold,
              timeout, "output silent")

    def close(self) -> None:
        try:
            self.client.deactivate()
        finally:
            self.client.close()


_SENDER = r"""
import sys, rtmidi
out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=sys.argv[2])
ports = out.get_ports()
out.open_port(next(i for i, p in enumerate(ports) if sys.argv[1] in p))
print("ready", flush=True)
for line in sys.stdin:
    out.send_message([int(b, 16) for b in line.split()])
    print("sent", flush=True)
"""


class JackMidiSender:
    """A JACK MIDI sender in its own process. In the test's process it would deadlock now and
    then: rtmidi's port connect holds the GIL while jackd waits on this process's Python JACK
    client (the recorder's callbacks), which waits for the GIL."""

    def __init__(self, port_substring: str, timeout: float = 20.0):
        import subprocess
        import sys
        import uuid
        self._p = subprocess.Popen([sys.executable, "-c", _SENDER, port_substring,
                                    f"sender-{uuid.uuid4().hex[:6]}"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._timeout = timeout
        self._expect("ready")

    def _expect(self, word: str) -> None:
        import select
        r, _, _ = select.select([self._p.stdout], [], [], self._timeout)
        line = self._p.stdout.readline().strip() if r else ""
        if line != word:
            self.close()
            raise AssertionError(f"JACK MIDI sender: expected {word!r}, got {line!r}")

    def send(self, message: list[int]) -> None:
        self._p.stdin.write(" ".join(f"{b:02x}" for b in message) + "\n")
        self._p.stdin.flush()
        self._expect("sent")

    def close(self) -> None:
        if self._p.poll() is None:
            self._p.kill()
        self._p.wait(5)

    def __enter__(self) -> "JackMidiSender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
