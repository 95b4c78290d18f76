"""Audio output: PortAudio (through sounddevice) calling the C core directly for every block.

The stream is opened with ``Pa_OpenStream`` through sounddevice's cffi handle, with the
core's ``rt_pa_callback`` as the callback and the core as its user data: no Python runs
on the audio thread, so no GIL, garbage collection or interpreter switch interval can
delay a block. Python threads only write into the core's rings and parameter array.
Under JACK, :class:`liveinstrument.engine.jack_out.JackOut` runs the same core from a JACK
process callback instead (and reads JACK MIDI there, with each event's frame).
"""
from __future__ import annotations

import sys
import threading
import time

import numpy as np

from . import native_core as nc
from .instrument import Instrument

N_TIMINGS = nc.N_TIMINGS
PA_FLOAT32, PA_CLIP_OFF, PA_DITHER_OFF = 0x1, 0x1, 0x2
_POLICIES = {0: "?", 1: "OTHER", 2: "FIFO", 3: "RR", 4: "BATCH", 6: "IDLE", 7: "DEADLINE"}


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


def timing_summary(mixer, block_s: float) -> dict:
    """Callback statistics the core recorded (durations in a preallocated ring)."""
    st = mixer.stats
    n = int(st[nc.ST_CALLBACKS])
    out = {"callbacks": n, "xruns": int(st[nc.ST_XRUNS]), "split_blocks": int(st[nc.ST_SPLITS]),
           "late_events": int(st[nc.ST_LATE]),
           "audio_thread_policy": _POLICIES.get(int(st[nc.ST_POLICY]), str(int(st[nc.ST_POLICY]) - 1))}
    if n == 0:
        return out
    d = mixer.durations[:min(n, N_TIMINGS)]
    out.update(p50_ms=float(np.percentile(d, 50) * 1e3), p99_ms=float(np.percentile(d, 99) * 1e3),
               max_ms=float(d.max() * 1e3), load_p99=float(np.percentile(d, 99) / block_s))
    return out


class _GcGuard:
    """Control threads (MIDI routing) get the interpreter back quickly while a stream runs.
    The audio thread needs none of this: it never enters Python."""

    def __init__(self) -> None:
        self._switch = sys.getswitchinterval()

    def enter(self) -> None:
        sys.setswitchinterval(0.0005)

    def exit(self) -> None:
        sys.setswitchinterval(self._switch)


class AudioOut:
    """A PortAudio output (or duplex) stream whose callback is the C core.

    With ``input_sink`` (an :class:`liveinstrument.capture.input_stream.InputRing`) the stream
    is duplex: the core copies the chosen input channel into the sink's preallocated ring
    before mixing. ``input_device`` defaults to the output device.
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
        self._gc = _GcGuard()
        self._mixer = instrument.mixer
        self._input_sink = input_sink
        self.input_device = None
        ffi, lib = sd._ffi, sd._lib
        self._ffi, self._lib = ffi, lib
        outp = ffi.new("PaStreamParameters *", {"device": self.device, "channelCount": self.channels,
                                                 "sampleFormat": PA_FLOAT32,
                                                 "suggestedLatency": info["default_low_output_latency"],
                                                 "hostApiSpecificStreamInfo": ffi.NULL})
        inp, in_ch = ffi.NULL, 0
        if input_sink is not None:
            self.input_device = input_device if isinstance(input_device, int) else \
                find_input_device(input_device, like=self.device)
            if self.input_device is None:
                raise RuntimeError(f"no audio input device{f' {input_device!r}' if input_device else ''}")
            iinfo = sd.query_devices(self.input_device)
            in_ch = max(1, min(int(input_sink.channels), int(iinfo["max_input_channels"])))
            self.input_device_name = f"{iinfo['name']} ({sd.query_hostapis(iinfo['hostapi'])['name']})"
            inp = ffi.new("PaStreamParameters *", {"device": self.input_device, "channelCount": in_ch,
                                                    "sampleFormat": PA_FLOAT32,
                                                    "suggestedLatency": iinfo["default_low_input_latency"],
                                                    "hostApiSpecificStreamInfo": ffi.NULL})
            nc.lib().rt_set_input(self._mixer.handle, input_sink.buf.ctypes.data, input_sink.idx.ctypes.data,
                                  input_sink.mask, min(input_sink.channel, in_ch - 1))
        nc.lib().rt_set_pa_channels(self._mixer.handle, self.channels, in_ch)
        self._inp, self._outp = inp, outp                  # cffi structs must outlive the open call
        pp = ffi.new("PaStream **")
        cb = ffi.cast("PaStreamCallback *", nc.pa_callback_address())
        err = lib.Pa_OpenStream(pp, inp, outp, float(self.samplerate), blocksize, PA_CLIP_OFF | PA_DITHER_OFF,
                                cb, ffi.cast("void *", self._mixer.handle))
        if err < 0:
            raise RuntimeError(f"cannot open audio stream on {self.device_name}: "
                               f"{ffi.string(lib.Pa_GetErrorText(err)).decode()}")
        self.stream = pp[0]

    def _check(self, err: int, what: str) -> None:
        if err < 0:
            raise RuntimeError(f"{what}: {self._ffi.string(self._lib.Pa_GetErrorText(err)).decode()}")

    def start(self) -> "AudioOut":
        self._gc.enter()
        self._check(self._lib.Pa_StartStream(self.stream), "cannot start the audio stream")
        return self

    def stop(self) -> None:
        if self.stream is not None:
            self._lib.Pa_StopStream(self.stream)
            self._lib.Pa_CloseStream(self.stream)
            self.stream = None
            self._gc.exit()

    close = stop

    def housekeeping(self) -> None:
        """Nothing to do: the audio thread runs no Python (kept for the owners' loops)."""

    def stats(self) -> dict:
        s = timing_summary(self._mixer, self.blocksize / self.samplerate)
        s["device"] = self.device_name
        s["blocksize"] = self.blocksize
        s["samplerate"] = self.samplerate
        if self._input_sink is not None:
            s["input_device"] = self.input_device_name
            s["input_overflows"] = int(self._mixer.stats[nc.ST_INPUT_OVERFLOWS])
        return s

    def __enter__(self) -> "AudioOut":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class NullOut:
    """Runs the core in real time into nothing (headless without a device, benchmarks).

    Keeps the ring protocol alive (the core acks maps and frees buffers) exactly as a sound
    card would; optionally keeps the last ``record_s`` seconds. The pump is a Python thread
    (there is no device to be late for); each block is the same C code.
    """

    def __init__(self, instrument: Instrument, blocksize: int = 128, record_s: float = 0.0):
        self.inst = instrument
        self.blocksize = blocksize
        self.samplerate = instrument.sample_rate
        self._buf = np.zeros((blocksize, 2), np.float32)
        self.xruns = 0
        n = int(record_s * self.samplerate)
        self.recording = np.zeros((n // blocksize * blocksize, 2), np.float32) if n else None
        self.frames = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="null-audio", daemon=True)
        self.device_name = "null (no audio device)"

    def _run(self) -> None:
        period = self.blocksize / self.samplerate
        t_next = time.perf_counter()
        m = self.inst.mixer
        while not self._stop.is_set():
            m.process(self.blocksize, self._buf)
            if self.recording is not None:
                i = (self.frames % self.recording.shape[0])
                self.recording[i:i + self.blocksize] = self._buf
            self.frames += self.blocksize
            t_next += period
            delay = t_next - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.1:            # fell far behind (machine busy): count and resync
                self.xruns += 1
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
        s = {"callbacks": self.frames // self.blocksize, "xruns": self.xruns}
        s["device"] = self.device_name
        s["blocksize"] = self.blocksize
        s["samplerate"] = self.samplerate
        return s

    def __enter__(self) -> "NullOut":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
