"""Audio output: a sounddevice stream whose callback only drains events and runs the mixer.

The callback allocates no arrays, takes no lock, does no I/O and never touches
torch. While a stream runs, Python's cyclic GC is disabled (after a collect and
``gc.freeze()``) so a collection can never land inside a callback; the owner
calls :meth:`housekeeping` from a non-audio thread to collect the young
generation now and then. The GIL switch interval is lowered so the audio thread
gets the interpreter back quickly from control threads.
"""
from __future__ import annotations

import gc
import sys
import threading
import time

import numpy as np

from .instrument import Instrument

N_TIMINGS = 1 << 16


def rescan_devices() -> None:
    """Re-initialise PortAudio so servers started after import (e.g. JACK) are seen."""
    import sounddevice as sd
    sd._terminate()
    sd._initialize()


def jack_hostapi() -> int | None:
    import sounddevice as sd
    for i, h in enumerate(sd.query_hostapis()):
        if "JACK" in h["name"]:
            return i
    return None


def _find_device(spec: str | int | None, direction: str, prefer: int | None = None) -> int | None:
    """Device index with ``direction`` ('output'/'input') channels for ``spec`` (index or name
    substring). Without a spec: ``prefer`` when it qualifies, then JACK's default, then the
    system default, then (outputs only) the first device that has the channels."""
    import sounddevice as sd
    key, slot = f"max_{direction}_channels", 1 if direction == "output" else 0
    devs = sd.query_devices()

    def ok(i) -> bool:
        return i is not None and 0 <= i < len(devs) and devs[i][key] > 0

    if spec is not None and str(spec).strip() != "":
        if str(spec).isdigit():
            return int(spec) if ok(int(spec)) else None
        return next((i for i, d in enumerate(devs) if str(spec).lower() in d["name"].lower() and d[key] > 0), None)
    if ok(prefer):
        return int(prefer)
    ja = jack_hostapi()
    if ja is not None:
        d = sd.query_hostapis()[ja][f"default_{direction}_device"]
        if d is not None and d >= 0:
            return int(d)
    try:
        d = sd.default.device[slot]
        if ok(d):
            return int(d)
    except Exception:
        pass
    if direction == "output":
        return next((i for i, d in enumerate(devs) if d[key] > 0), None)
    return None


def find_output_device(spec: str | int | None = None) -> int | None:
    """Device index for ``spec`` (index or name substring); default: JACK if running, else the default output."""
    return _find_device(spec, "output")


def find_input_device(spec: str | int | None = None, like: int | None = None) -> int | None:
    """Input device for ``spec`` (index or name substring); default: the output device ``like`` when
    it has inputs (a duplex JACK/ALSA device), else JACK's or the system's default input."""
    return _find_device(spec, "input", prefer=like)


def _policy_name() -> str:
    import os
    try:
        pol = os.sched_getscheduler(0)
        return {os.SCHED_FIFO: "FIFO", os.SCHED_RR: "RR", os.SCHED_OTHER: "OTHER"}.get(pol, str(pol))
    except (OSError, AttributeError):
        return "?"


class _Timing:
    """Callback statistics in preallocated arrays (written by the audio thread only)."""

    def __init__(self) -> None:
        self.durations = np.zeros(N_TIMINGS, np.float64)
        self.n = 0
        self.xruns = 0
        self.oversize = 0
        self.input_overflows = 0

    def summary(self, block_s: float) -> dict:
        k = min(self.n, N_TIMINGS)
        d = self.durations[:k] if self.n <= N_TIMINGS else self.durations
        if k == 0:
            return {"callbacks": 0, "xruns": self.xruns}
        return {"callbacks": self.n, "xruns": self.xruns,
                "p50_ms": float(np.percentile(d, 50) * 1e3), "p99_ms": float(np.percentile(d, 99) * 1e3),
                "max_ms": float(d.max() * 1e3), "load_p99": float(np.percentile(d, 99) / block_s)}


class _GcGuard:
    def __init__(self) -> None:
        self._was = gc.isenabled()
        self._switch = sys.getswitchinterval()

    def enter(self) -> None:
        gc.collect()
        gc.freeze()
        gc.disable()
        sys.setswitchinterval(0.0005)

    def exit(self) -> None:
        sys.setswitchinterval(self._switch)
        gc.unfreeze()
        if self._was:
            gc.enable()


class AudioOut:
    """sounddevice OutputStream driving the instrument's mixer.

    With ``input_sink`` (an object with ``channels`` and ``write(indata, frames)``, e.g.
    :class:`liveinstrument.capture.input_stream.InputRing`) the stream is duplex: each
    callback first hands the input block to the sink (a copy into a preallocated ring,
    nothing else), then mixes as usual. ``input_device`` defaults to the output device.
    """

    def __init__(self, instrument: Instrument, device: int | str | None = None, samplerate: int | None = None,
                 blocksize: int = 128, channels: int = 2, input_sink=None, input_device: int | str | None = None):
        import sounddevice as sd
        self.inst = instrument
        self.device = device if isinstance(device, int) else find_output_device(device)
        if self.device is None:
            raise RuntimeError("no audio output device")
        info = sd.query_devices(self.device)
        self.device_name = f"{info['name']} ({sd.query_hostapis(info['hostapi'])['name']})"
        self.samplerate = int(samplerate or instrument.sample_rate)
        if self.samplerate != instrument.sample_rate:
            raise ValueError(f"instrument renders at {instrument.sample_rate} Hz, stream wants {self.samplerate}")
        self.blocksize = blocksize
        self.channels = max(1, min(channels, int(info["max_output_channels"])))
        self.timing = _Timing()
        self.thread_policy = "?"
        self._gc = _GcGuard()
        self._mixer = instrument.mixer
        self._queue = instrument.events
        self._scratch = np.zeros((instrument.mixer.max_block, max(2, self.channels)), np.float32)
        self._input_sink = input_sink
        self.input_device = None
        if input_sink is None:
            self.stream = sd.OutputStream(device=self.device, samplerate=self.samplerate, blocksize=blocksize,
                                          channels=self.channels, dtype="float32", latency="low",
                                          callback=self._callback)
        else:
            self.input_device = input_device if isinstance(input_device, int) else \
                find_input_device(input_device, like=self.device)
            if self.input_device is None:
                raise RuntimeError(f"no audio input device{f' {input_device!r}' if input_device else ''}")
            iinfo = sd.query_devices(self.input_device)
            in_ch = max(1, min(int(input_sink.channels), int(iinfo["max_input_channels"])))
            self.input_device_name = f"{iinfo['name']} ({sd.query_hostapis(iinfo['hostapi'])['name']})"
            self.stream = sd.Stream(device=(self.input_device, self.device), samplerate=self.samplerate,
                                    blocksize=blocksize, channels=(in_ch, self.channels), dtype="float32",
                                    latency="low", callback=self._duplex_callback)

    def _duplex_callback(self, indata, outdata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.timing.input_overflows += 1
        self._input_sink.write(indata, frames)
        self._callback(outdata, frames, time_info, status)

    def _callback(self, outdata, frames, time_info, status) -> None:
        t0 = time.perf_counter()
        tm = self.timing
        if status.output_underflow:
            tm.xruns += 1
        if frames > self._mixer.max_block:
            outdata.fill(0.0)
            tm.oversize += 1
        elif outdata.shape[1] >= 2:
            self._mixer.process(frames, outdata, self._queue)
        else:                                     # mono device: mix to scratch, take the left bus
            sc = self._scratch[:frames]
            self._mixer.process(frames, sc, self._queue)
            outdata[:, 0] = sc[:, 0]
        tm.durations[tm.n & (N_TIMINGS - 1)] = time.perf_counter() - t0
        if tm.n == 0:                             # once: is the audio thread real-time scheduled?
            self.thread_policy = _policy_name()
        tm.n += 1

    def start(self) -> "AudioOut":
        self._gc.enter()
        self.stream.start()
        return self

    def stop(self) -> None:
        if self.stream is not None:
            self.stream.stop()
            self.stream.close()
            self.stream = None
            self._gc.exit()

    close = stop

    def housekeeping(self) -> None:
        """Collect young garbage from a non-audio thread (GC is off while streaming)."""
        gc.collect(0)

    def stats(self) -> dict:
        s = self.timing.summary(self.blocksize / self.samplerate)
        s["device"] = self.device_name
        s["blocksize"] = self.blocksize
        s["samplerate"] = self.samplerate
        s["audio_thread_policy"] = self.thread_policy
        if self._input_sink is not None:
            s["input_device"] = self.input_device_name
            s["input_overflows"] = self.timing.input_overflows
        return s

    def __enter__(self) -> "AudioOut":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class NullOut:
    """Runs the mixer in real time into nothing (headless without a device, benchmarks).

    Keeps the ring protocol alive (the mixer acks maps and frees buffers) exactly as
    a sound card would; optionally keeps the last ``record_s`` seconds.
    """

    def __init__(self, instrument: Instrument, blocksize: int = 128, record_s: float = 0.0):
        self.inst = instrument
        self.blocksize = blocksize
        self.samplerate = instrument.sample_rate
        self.timing = _Timing()
        self._buf = np.zeros((blocksize, 2), np.float32)
        n = int(record_s * self.samplerate)
        self.recording = np.zeros((n // blocksize * blocksize, 2), np.float32) if n else None
        self.frames = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="null-audio", daemon=True)
        self.device_name = "null (no audio device)"

    def _run(self) -> None:
        period = self.blocksize / self.samplerate
        t_next = time.perf_counter()
        m, q = self.inst.mixer, self.inst.events
        while not self._stop.is_set():
            t0 = time.perf_counter()
            m.process(self.blocksize, self._buf, q)
            tm = self.timing
            tm.durations[tm.n & (N_TIMINGS - 1)] = time.perf_counter() - t0
            tm.n += 1
            if self.recording is not None:
                i = (self.frames % self.recording.shape[0])
                self.recording[i:i + self.blocksize] = self._buf
            self.frames += self.blocksize
            t_next += period
            delay = t_next - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.1:            # fell far behind (machine busy): count and resync
                tm.xruns += 1
                t_next = time.perf_counter()

    def start(self) -> "NullOut":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)

    close = stop

    def housekeeping(self) -> None:
        pass

    def stats(self) -> dict:
        s = self.timing.summary(self.blocksize / self.samplerate)
        s["device"] = self.device_name
        s["blocksize"] = self.blocksize
        s["samplerate"] = self.samplerate
        return s

    def __enter__(self) -> "NullOut":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
