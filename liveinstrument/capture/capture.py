"""Audio-input capture: level meter, onsets, analyze-to-pad and live beatbox mode.

A ``Capture`` owns the :class:`InputRing` the audio callback writes into and one
analysis thread that polls it (every ``poll_s``, 1 ms by default: the callback
never signals anything, so it cannot block on the analysis side). Per poll the
thread takes every new sample and

1. updates the input meter (peak / RMS dBFS, DC, clip count and clip warning);
2. high-passes it (DC offset, rumble) into a filtered ring at the same indices;
3. runs the streaming onset detector (64-sample hop, adaptive threshold,
   50 ms re-trigger guard);
4. for each onset:
   * analyze-to-pad: if a pad is armed (the instrument owns that: ``action(N, "capture")``
     from MIDI / OSC ``/drumgan/pad/N/capture`` / the status view arms it,
     ``Instrument.take_capture_arm`` takes it at an onset), the armed pad takes
     the window from this onset to the next onset or ``N_SAMPLES`` later,
     whichever is first; the window goes to ``Instrument.analyze_audio`` (E runs
     in the renderer process, which already has the synth: no torch here);
   * beatbox mode: as soon as ``decision_ms`` of audio after the onset are in,
     the fast classifier picks kick / snare / cymbal and that class's pad is
     triggered at once, velocity from the window's peak level. With ``refine``
     and an encoder, the hit's full window is then analysed into the class pad
     (z only, the class sliders stay), at most once per ``refine_interval_s``.

Nothing here blocks the audio thread: the ring is lock-free (single writer), the
trigger is the instrument's lock-free event queue.
"""
from __future__ import annotations

import collections
import logging
import math
import threading
import time

import numpy as np

from ..signal import N_SAMPLES
from .fast_class import FastClassifier
from .input_stream import InputRing
from .onset import HighPass, Onset, OnsetDetector
from .vocal_synth import CLASSES

log = logging.getLogger("drumgan.capture")

CLIP_LEVEL = 0.999          # |x| at or above this counts as a clipped sample
CLIP_HOLD_S = 2.0           # the clip warning stays on this long after the last clipped sample


def velocity_from_peak(peak: float, floor_db: float = -40.0, min_velocity: float = 0.05) -> float:
    """Peak level of the decision window -> velocity: floor_db -> min, 0 dBFS -> 1 (linear in dB)."""
    db = 20.0 * math.log10(max(peak, 1e-9))
    return float(min(1.0, max(min_velocity, 1.0 - db / floor_db)))


class Capture:
    def __init__(self, inst, *, beatbox: bool = False, class_pads: tuple[int, int, int] = (1, 2, 3),
                 decision_ms: float = 6.0, input_channel: int = 0, hop: int = 64, onset_k: float = 5.0,
                 gate_dbfs: float = -50.0, guard_ms: float = 50.0, ring_s: float = 4.0, poll_s: float = 0.001,
                 velocity_floor_db: float = -40.0, refine: bool = False, refine_interval_s: float = 1.0,
                 classifier: FastClassifier | None = None, pre_roll_ms: float = 2.0):
        self.inst = inst
        self.sr = int(inst.sample_rate)
        self.beatbox = beatbox
        self.class_pads = tuple(int(p) for p in class_pads)
        self.clf = classifier or FastClassifier()
        self.decision_ms = float(self.clf.window_ms(decision_ms))
        self.decision_len = int(round(self.decision_ms * self.sr / 1000))
        self.analyze_len = int(round(N_SAMPLES * self.sr / 44_100))
        self.pre_roll = int(pre_roll_ms * self.sr / 1000)
        self.ring = InputRing(max(ring_s, 2.5 * self.analyze_len / self.sr), self.sr, input_channel)
        self.filtered = np.zeros(self.ring.capacity, np.float32)
        self.hp = HighPass(self.sr)
        self._det_kw = dict(hop=hop, k=onset_k, gate_dbfs=gate_dbfs, guard_s=guard_ms / 1000)
        self.det = OnsetDetector(self.sr, **self._det_kw)
        self.poll_s = poll_s
        self.velocity_floor_db = velocity_floor_db
        self.refine = refine
        self.refine_interval_s = refine_interval_s
        self.r = 0                                          # next absolute sample to analyse
        self._pending: list[Onset] = []                     # onsets waiting for their decision window
        self._jobs: list[dict] = []                         # analyze-to-pad windows being collected
        self._last_refine = {p: -1e9 for p in self.class_pads}
        # -- meter (plain floats, written by the analysis thread)
        self.peak_db = -120.0
        self.rms_db = -120.0
        self.dc = 0.0
        self.clips = 0
        self._last_clip_t = -1e9
        self._ms = 0.0                                      # smoothed mean square
        # -- bookkeeping
        self.counters = collections.Counter()
        self.log: collections.deque = collections.deque(maxlen=1024)   # one dict per onset
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.busy_s = 0.0                                   # analysis thread CPU-ish time (work only)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "Capture":
        self.inst.attach_input(self)
        self._thread = threading.Thread(target=self._run, name="capture-analysis", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(2.0)
        self.inst.detach_input(self)

    close = stop

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:                   # never let the analysis die silently mid-set
                self.counters["analysis_errors"] += 1
                log.exception("capture analysis step failed")
            time.sleep(self.poll_s)

    # ------------------------------------------------------------ offline use
    def feed(self, x: np.ndarray, block: int = 128) -> None:
        """Push audio as the callback would, analysing after every block (tests, offline)."""
        x = np.asarray(x, np.float32)
        for i in range(0, x.size, block):
            self.ring.push(x[i:i + block])
            self.step()

    # ------------------------------------------------------------ the analysis step
    def step(self) -> int:
        t0 = time.perf_counter()
        w = self.ring.written()
        avail = w - self.r
        if avail <= 0:
            return 0
        if avail > self.ring.capacity - self.analyze_len:   # stalled for seconds: skip ahead, restart
            self.counters["overruns"] += 1
            self.r = w - min(avail, self.ring.capacity // 4)
            self.det = OnsetDetector(self.sr, **self._det_kw, start=self.r)
            self._pending.clear()
            self._jobs.clear()
            avail = w - self.r
        x = self.ring.read(self.r, avail)
        if not np.all(np.isfinite(x)):                      # a broken driver must not poison the filters
            self.counters["nonfinite_blocks"] += 1
            x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        self._meter(x)
        y = self.hp(x)
        i = self.r & self.ring.mask
        n1 = min(avail, self.ring.capacity - i)
        self.filtered[i:i + n1] = y[:n1]
        self.filtered[:avail - n1] = y[n1:]
        self.r = w
        for o in self.det.process(y):
            self._on_onset(o)
        self._decide()
        self._collect()
        self.busy_s += time.perf_counter() - t0
        return avail

    def window(self, start: int, n: int) -> np.ndarray:
        """Filtered samples [start, start + n) (absolute indices; must still be in the ring)."""
        out = np.empty(n, np.float32)
        i = start & self.ring.mask
        n1 = min(n, self.ring.capacity - i)
        out[:n1] = self.filtered[i:i + n1]
        out[n1:] = self.filtered[:n - n1]
        return out

    def _meter(self, x: np.ndarray) -> None:
        n = x.size
        a = np.abs(x)
        peak = float(a.max())
        c = int(np.count_nonzero(a >= CLIP_LEVEL))
        if c:
            self.clips += c
            self._last_clip_t = time.monotonic()
        # peak hold falling 20 dB/s, RMS over ~300 ms, DC over ~1 s
        dt = n / self.sr
        self.peak_db = max(20.0 * math.log10(max(peak, 1e-6)), self.peak_db - 20.0 * dt)
        k = 1.0 - math.exp(-dt / 0.3)
        self._ms += k * (float(np.mean(np.square(x, dtype=np.float64))) - self._ms)
        self.rms_db = 10.0 * math.log10(max(self._ms, 1e-12))
        self.dc += (1.0 - math.exp(-dt / 1.0)) * (float(np.mean(x)) - self.dc)

    def _on_onset(self, o: Onset) -> None:
        self.counters["onsets"] += 1
        for j in self._jobs:                                 # the next onset ends an open capture window
            if j["end"] is None and o.sample > j["start"]:
                j["end"] = o.sample
        armed = self.inst.take_capture_arm()
        if armed:
            self._jobs.append({"pad": int(armed), "start": o.sample, "end": None, "keep_classes": False,
                               "kind": "capture"})
            self.counters["captures_armed_used"] += 1
        if self.beatbox:
            self._pending.append(o)
        else:
            self.log.append({"onset": o.sample, "strength": o.strength, "t": time.perf_counter()})

    def _decide(self) -> None:
        if not self._pending:
            return
        keep = []
        for o in self._pending:
            if self.r < o.sample + self.decision_len:
                keep.append(o)
                continue
            win = self.window(o.sample, self.decision_len)
            cls, p = self.clf.classify(win, self.decision_ms, self.sr)
            vel = velocity_from_peak(float(np.max(np.abs(win))), self.velocity_floor_db)
            pad = self.class_pads[cls]
            self.inst.trigger(pad, vel)
            t = time.perf_counter()
            self.counters["beatbox_hits"] += 1
            self.counters[f"hits_{CLASSES[cls]}"] += 1
            self.log.append({"onset": o.sample, "strength": o.strength, "class": CLASSES[cls], "pad": pad,
                             "velocity": vel, "proba": [round(float(v), 3) for v in p],
                             "decided_at": self.r, "decision_delay_ms": (self.r - o.sample) * 1000 / self.sr,
                             "t": t})
            if self.refine and self.inst.has_encoder \
                    and t - self._last_refine[pad] >= self.refine_interval_s \
                    and not any(j["pad"] == pad for j in self._jobs):
                self._last_refine[pad] = t
                self._jobs.append({"pad": pad, "start": o.sample, "end": None, "keep_classes": True,
                                   "kind": "refine"})
        self._pending = keep

    def _collect(self) -> None:
        if not self._jobs:
            return
        keep = []
        for j in self._jobs:
            end = j["end"] if j["end"] is not None else j["start"] + self.analyze_len
            end = min(end, j["start"] + self.analyze_len)    # very long sounds: one window, no more
            if self.r < end:
                keep.append(j)
                continue
            start = max(j["start"] - self.pre_roll, self.r - self.ring.capacity + 1)
            audio = self.window(start, end - start)
            self.inst.analyze_audio(j["pad"], audio, self.sr, keep_classes=j["keep_classes"])
            self.counters[f"{j['kind']}_submitted"] += 1
        self._jobs = keep

    # ------------------------------------------------------------ status
    @property
    def armed(self) -> int | None:
        return self.inst.capture_armed

    def clipping(self) -> bool:
        return time.monotonic() - self._last_clip_t < CLIP_HOLD_S

    def meter(self) -> dict:
        return {"peak_dbfs": round(self.peak_db, 1), "rms_dbfs": round(self.rms_db, 1), "dc": round(self.dc, 4),
                "clips": self.clips, "clipping": self.clipping()}

    def stats(self) -> dict:
        return {**self.meter(), **dict(self.counters), "armed": self.armed, "beatbox": self.beatbox,
                "decision_ms": self.decision_ms, "class_pads": list(self.class_pads),
                "threshold_db": round(self.det.last_threshold, 1), "samples": self.r}

    def status_line(self) -> str:
        m = self.meter()
        warn = " [b red]CLIP[/b red]" if m["clipping"] else ""
        mode = f"beatbox {self.decision_ms:g} ms -> pads {'/'.join(map(str, self.class_pads))}" \
            if self.beatbox else "capture"
        arm = f" | armed pad {self.armed}" if self.armed else ""
        return (f"input {m['peak_dbfs']:6.1f} dBFS peak {m['rms_dbfs']:6.1f} dBFS rms | clips {m['clips']}{warn}"
                f" | onsets {self.counters['onsets']} | {mode}{arm}")
