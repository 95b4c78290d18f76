"""The instrument: pad state + renderer + mixer behind the ``InstrumentControls`` contract.

Control threads call the methods here; they update the pad state (under a lock
the audio callback never takes), push note events into the lock-free queue the
callback drains, write mixer parameters as single stores, and send render
requests to the renderer (process or synchronous). Nothing here blocks on a
render.

Who owns what (one owner per piece of state; the others ask it, or hold a cache it feeds):

=====================  ==============================  ==========================================
state                  owner                           copies, and how they are fed
=====================  ==============================  ==========================================
pad controls, latents  ``Instrument.pads`` (its lock)  renderer: newest ``RenderRequest`` per pad
                                                       on the ``PadBoard`` (newest wins); readers
                                                       ask ``state()``
mix (gain/pan/choke,   ``Instrument.pads`` /           mixer core: converted copy, ``_push_mix`` /
velocity timbre,       ``Instrument._master``          ``Mixer.set_master`` (single stores)
master)
raw generator audio    the renderer (``RenderCore``)   ring: shaped hits it publishes; a kit's
                                                       stored audio is kept by ``RendererProcess``
                                                       only to re-send to a replacement. Saves and
                                                       exports are written by the renderer itself
                                                       (``write_audio`` / ``export_pad``): file
                                                       names cross the pipe, not audio
E (the encoder)        the renderer                    asked with ``encode``; ``has_encoder``
captured input audio   ``Instrument.captured``         none (written with the kit by the instrument)
capture arming         ``Instrument`` (``action(N,     the audio input takes it with
                       "capture")``)                   ``take_capture_arm``
running audio input    the ``Capture`` itself          registered with ``attach_input``
current kit, kit I/O   ``KitLibrary``                  the instrument asks it (``set_current``,
                                                       ``submit``); its jobs are our functions
=====================  ==============================  ==========================================
"""
from __future__ import annotations

import copy
import logging
import math
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..signal import N_SAMPLES, SAMPLE_RATE
from . import dsp
from . import native_core as nc
from .commands import GLOBAL_PARAMS, INSTRUMENT_ACTIONS, PAD_ACTIONS, PAD_PARAMS
from .kit_library import KitLibrary, kit_name_of
from .events import NOTE_OFF, EventRing
from .mixer import Mixer
from .renderer import RenderRequest, SyncRenderer
from .renderer_process import RendererProcess
from .shm_ring import GEN, N_RR, SEQ, Ring, RingLayout
from .state import (MIXER_PARAMS, Pad, default_kit, gain_to_amp, kit_audio_dir, load_captured, load_kit,
                    pan_to_lr, random_directions, tune_to_semitones, write_captured, write_kit_file)

log = logging.getLogger("drumgan.engine")
MAX_ANALYSES = 2          # file analyses at once: each loads a file and asks the renderer's E
UNDO_DEPTH = 32          # generate/analyze steps that undo can take back


class Instrument:
    """Implements :class:`liveinstrument.engine.commands.InstrumentControls`.

    ``synchronous=True`` renders in the calling thread (offline renders, tests);
    otherwise a renderer process is spawned. Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, n_pads: int = 16, sample_rate: int = SAMPLE_RATE, *, models_dir=None,
                 random_model: bool | int = False, seed: int = 0, kit: str | Path | None = None,
                 synchronous: bool = False, max_voices: int = 32, n_slots: int = 8,
                 max_block: int = 4096, per_pad_outputs: bool = False, renderer_threads: int | None = None,
                 synth=None, renderer_nice: int = 15, renderer_standby: bool = False,
                 allow_dirs: list[str | Path] | None = None, timing: str = "constant"):
        self.sample_rate = int(sample_rate)
        # folders analyze_file may read (None: the user's sample and kit folders, file_guard.py)
        self.allow_dirs = None if allow_dirs is None else [Path(d) for d in allow_dirs]
        self._analyses = threading.BoundedSemaphore(MAX_ANALYSES)
        self.seed = seed
        self.counters: dict[str, int] = {"bad_input": 0, "dropped_events": 0, "render_requests": 0}
        self._lock = threading.RLock()           # pad state; never taken by the audio callback
        # Copy-on-write tuples: notifiers iterate without a lock while others (un)subscribe.
        self._subs: tuple[Callable[[int, str, float], None], ...] = ()
        self._hit_subs: tuple[Callable[[int, float], None], ...] = ()
        self._subs_lock = threading.Lock()   # only (un)subscribing takes it, never a notifier
        self._notice_lock = threading.RLock()   # set_param notices one at a time (a subscriber may set again)
        self._version = 0
        self._want_version: dict[int, int] = {}     # pad index -> newest requested version
        self._master = 0.8
        self._no_clock_warned = False            # said once (_warn_if_no_clock)
        self._rng = np.random.default_rng(seed)
        pads, raw, kit_hash = default_kit(n_pads, seed), {}, None
        # raw audio a pad was analysed from (audio-input capture, analyze); saved with the kit
        self.captured: dict[int, np.ndarray] = {}
        self._input = None                       # the running audio input (liveinstrument.capture), if any
        self._capture_armed: int | None = None   # 1-based pad the next input onset is analysed into
        if kit:
            pads, kit_hash, raw, doc = load_kit(kit)
            n_pads = len(pads)
            self.captured = load_captured(kit, doc)
        self.kits = KitLibrary(kit)              # current kit, saved kits, background kit I/O
        self._undo: list[list[tuple[int, Pad, np.ndarray | None]]] = []
        self.pads: list[Pad] = pads
        self.n_pads = n_pads
        layout = RingLayout(n_pads=n_pads, n_slots=n_slots, n_bufs=n_slots + 12,
                            buf_len=dsp.max_hit_len(self.sample_rate, N_SAMPLES))
        self.ring = Ring.create(layout, shared=not synchronous)
        self.events = EventRing(1024, shared=not synchronous)
        self.mixer = Mixer(self.ring, self.sample_rate, max_voices=max_voices, max_block=max_block,
                           per_pad_outputs=per_pad_outputs, events=self.events, timing=timing)
        rseed = None if random_model is False else int(random_model)
        try:
            if synchronous:
                self.renderer = SyncRenderer(self.ring, self.sample_rate, models_dir, rseed, synth=synth,
                                             on_stall=self.mixer.adopt)
            else:
                self.renderer = RendererProcess(self.ring, self.sample_rate, models_dir, rseed,
                                                threads=renderer_threads, nice=renderer_nice,
                                                standby=renderer_standby)
        except Exception:
            self.mixer.close()
            self.events.close()
            self.ring.close()
            raise
        self.model_hash: str = self.renderer.model_hash
        if kit_hash and kit_hash != self.model_hash:
            log.warning("kit was made with model %s, loaded model is %s: stored audio plays as saved; "
                        "changing a pad re-renders it with the loaded model", kit_hash, self.model_hash)
        for i in range(n_pads):
            self._push_mix(i)
            self._request(i, raw=raw.get(i))

    # ------------------------------------------------------------ InstrumentControls
    def trigger(self, pad: int, velocity: float, at: int | None = None) -> None:
        """Play ``pad`` at sample time ``at`` on the engine's clock (MIDI files, JACK MIDI frames
        plus the timing mode's latency); None stamps it on arrival (``Mixer.stamp``)."""
        p = self._pad_index(pad)
        v = self._unit(velocity)
        if p is None or v is None:
            return
        if v > 0.0 and not self.mixer.note_on(p, v, self.mixer.stamp() if at is None else int(at)):
            self.counters["dropped_events"] += 1
        elif v > 0.0:
            for cb in self._hit_subs:   # after the push: a listener never delays the sound
                try:
                    cb(p + 1, v)
                except Exception:
                    log.exception("hit subscriber failed")

    def release(self, pad: int) -> None:
        p = self._pad_index(pad)
        if p is not None:
            self.events.push(NOTE_OFF, p, 0.0)

    def all_off(self) -> None:
        """Panic: fade every voice out at once (added to the contract)."""
        self.mixer.all_off(-1)

    def _checked(self, name: str, allowed, value, what: str) -> float | None:
        """``value`` as a 0..1 float when ``name`` is one of ``allowed``; else counted as bad input."""
        if name not in allowed:
            self._bad(f"{what} {name!r}")
            return None
        return self._unit(value)

    def _targets(self, pad: int) -> list[int]:
        """0-based indices a command addresses: pad 0 means every pad; a bad pad number none."""
        if pad == 0:
            return list(range(self.n_pads))
        p = self._pad_index(pad)
        return [] if p is None else [p]

    def set_param(self, pad: int, name: str, value: float) -> None:
        v = self._checked(name, PAD_PARAMS, value, f"set_param {pad}")
        if v is None:
            return
        for p in self._targets(pad):
            with self._lock:
                if getattr(self.pads[p], name) == v:
                    continue
                setattr(self.pads[p], name, v)
            if name in MIXER_PARAMS:
                self._push_mix(p)
            else:
                self._request(p)
            self._notify_current(p, name)

    def set_global(self, name: str, value: float) -> None:
        v = self._checked(name, GLOBAL_PARAMS, value, "set_global")
        if v is None:
            return
        if name == "master":
            self.mixer.set_master(gain_to_amp(v))
            self._master = v
        self._notify(0, name, v)

    def action(self, pad: int, name: str) -> None:
        """A PAD_ACTIONS action on a pad (0 = all), or an INSTRUMENT_ACTIONS one (pad ignored)."""
        if name in INSTRUMENT_ACTIONS:
            {"kit_save": self.save_kit_named, "kit_save_as": lambda: self.save_kit_named(new=True),
             "kit_next": self.next_kit, "kit_prev": self.prev_kit, "undo": self.undo}[name]()
            return
        if name not in PAD_ACTIONS:
            self._bad(f"action {pad} {name!r}")
            return
        targets = self._targets(pad)
        if name == "generate":
            self._remember(targets)
        for p in targets:
            with self._lock:
                if name == "generate":
                    self.pads[p].z_center = self._rng.standard_normal(self.pads[p].z_center.size).astype(np.float32)
                elif name == "new_direction":
                    self.pads[p].e1, self.pads[p].e2 = random_directions(self._rng)
                elif name == "capture":
                    self._capture_armed = p + 1     # the audio input takes it (take_capture_arm)
                    continue
            self._request(p)
            self._notify(p + 1, name, 1.0)

    def analyze_file(self, pad: int, path: str) -> None:
        """Analyse an audio file into the pad, asynchronously. Only regular files inside the
        allowed folders are read (``allow_dirs``; see engine/file_guard.py), at most
        ``MAX_ANALYSES`` at a time: the rest are refused with one line."""
        from .file_guard import RefusedPath, check_readable, default_allowed
        p = self._pad_index(pad)
        if p is None:
            return
        try:
            real = check_readable(path, self.allow_dirs if self.allow_dirs is not None else default_allowed())
        except RefusedPath as exc:
            self._refuse(p, str(exc))
            return
        if not self._analyses.acquire(blocking=False):
            self._refuse(p, f"{MAX_ANALYSES} analyses already running; try again when one is done")
            return

        def run():
            try:
                self._analyze(p, str(real))
            finally:
                self._analyses.release()
        threading.Thread(target=run, daemon=True, name="analyze").start()

    def _refuse(self, p: int, why: str) -> None:
        self.counters["analyze_refused"] = self.counters.get("analyze_refused", 0) + 1
        log.warning("analyze pad %d refused: %s", p + 1, why)

    def analyze_audio(self, pad: int, audio: np.ndarray, sample_rate: int = SAMPLE_RATE, *,
                      keep_classes: bool = False, keep_audio: bool = True) -> None:
        """Encode raw audio (mono float, onset near the start) with E in the renderer process and
        set the pad from it, asynchronously (the audio-input capture path). ``keep_classes`` keeps
        the pad's class sliders and takes only z (beatbox refinement). The raw audio is kept with
        the kit (``save_kit``) even when no encoder is loaded, so it can be analysed later."""
        p = self._pad_index(pad)
        if p is None:
            return
        x = np.nan_to_num(np.asarray(audio, np.float32).reshape(-1))
        if sample_rate != SAMPLE_RATE:
            from ..audio_io import resample
            x = resample(x, int(sample_rate), SAMPLE_RATE)
        if keep_audio:
            with self._lock:
                self.captured[p] = x[:N_SAMPLES].copy()
        threading.Thread(target=self._analyze, args=(p, x, keep_classes), daemon=True, name="analyze").start()

    def state(self) -> dict:
        with self._lock:
            pads = [{"pad": i + 1, "name": pd.name, "note": pd.note, "choke": pd.choke, **pd.params(),
                     "ready": self.mixer.ready(i), "generation": int(self.ring.hdr[i, GEN])}
                    for i, pd in enumerate(self.pads)]
        m = self.mixer
        return {"pads": pads, "master": self._master, "model_hash": self.model_hash,
                "sample_rate": self.sample_rate, "kit": self.kit_info(),
                "counters": {**self.counters, "hits": m.hits, "steals": m.steals, "chokes": m.chokes,
                             "not_ready": m.not_ready, "nonfinite_blocks": m.nonfinite_blocks,
                             "dropped_events": self.events.dropped, "voices": m.active_voices()}}

    def subscribe(self, callback: Callable[[int, str, float], None]) -> Callable[[], None]:
        """Call ``callback(pad, name, value)`` after every change; returns the unsubscribe."""
        return self._listen("_subs", callback)

    def _listen(self, attr: str, callback: Callable) -> Callable[[], None]:
        """Add ``callback`` to the listener tuple ``attr``; returns the function that removes it."""
        with self._subs_lock:
            setattr(self, attr, getattr(self, attr) + (callback,))

        def unsubscribe() -> None:
            with self._subs_lock:
                setattr(self, attr, tuple(cb for cb in getattr(self, attr) if cb is not callback))
        return unsubscribe

    # ------------------------------------------------------------ additions beyond the contract
    def set_choke(self, pad: int, group: int) -> None:
        """Choke group (0 = none): pads in one group cut each other (open/closed hat)."""
        p = self._pad_index(pad)
        if p is None or not isinstance(group, (int, np.integer)) or group < 0:
            self._bad(f"set_choke {pad} {group!r}")
            return
        with self._lock:
            self.pads[p].choke = int(group)
        self._push_mix(p)

    def pad_for_note(self, note: int) -> int | None:
        """1-based pad whose note is ``note`` (kit's own note map), or None."""
        for i, pd in enumerate(self.pads):
            if pd.note == note:
                return i + 1
        return None

    def generation(self, pad: int) -> int:
        """Version of the newest request whose main sound is in the ring (for benchmarks)."""
        return int(self.ring.hdr[pad - 1, GEN])

    def wait_ready(self, timeout: float = 60.0, pads: list[int] | None = None) -> bool:
        """Block until the given pads (default all) have their current sound in the ring."""
        idx = [p - 1 for p in pads] if pads else range(self.n_pads)
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            with self._lock:
                want = dict(self._want_version)
            if all(int(self.ring.hdr[i, GEN]) >= want.get(i, 0) for i in idx):
                return True
            if isinstance(self.renderer, SyncRenderer):
                self.renderer.service()
            time.sleep(0.002)
        self._warn_if_no_clock()
        return False

    def _warn_if_no_clock(self) -> None:
        """Only the audio callback adopts new maps and frees ring buffers: an instrument with a
        renderer process and no running output (AudioOut/JackOut/NullOut) stalls once its spare
        buffers are used. Say so once instead of leaving renders silently pending."""
        if self._no_clock_warned or isinstance(self.renderer, SyncRenderer):
            return
        if int(self.mixer.stats[nc.ST_CALLBACKS]) == 0:
            self._no_clock_warned = True
            log.warning("renders are waiting: no audio clock runs this instrument (no AudioOut, JackOut or "
                        "NullOut started), and only the audio callback frees ring buffers; start one "
                        "(drumgan live does; headless: NullOut(instrument) or --audio-device null)")

    def save_kit(self, path: str | Path, *, within: list[str | Path] | None = None) -> Path:
        """Write the kit to ``path`` (YAML) with its audio in ``<stem>_audio/``. The renderer
        writes the raw audio it holds itself (only file names come back); the captured audio
        and the YAML are written here. Every file stays inside ``within`` (default: the kit
        file's own folder; named saves pass the user's kit folder), checked by file_guard.py."""
        from .file_guard import check_writable
        p = Path(path)
        roots = [Path(d) for d in within] if within else [p.parent]
        audio_dir = check_writable(kit_audio_dir(p), roots, folder=True)
        kit_file = check_writable(p, roots)
        audio_dir.mkdir(parents=True, exist_ok=True)
        names = self.renderer.write_audio(audio_dir, roots)
        with self._lock:
            pads = [Pad.from_dict(pd.to_dict()) for pd in self.pads]
            captured = dict(self.captured)
        return write_kit_file(kit_file, pads, self.model_hash, names, write_captured(audio_dir, captured),
                              {"engine_sample_rate": self.sample_rate})

    def export_pad(self, pad: int, path: str | Path, sample_rate: int = SAMPLE_RATE, *,
                   within: list[str | Path] | None = None) -> Path:
        """Write the pad's main sound (tune and decay applied) as a WAV file; the renderer, which
        holds the raw audio, writes it (inside ``within``, default the file's own folder)."""
        p = self._pad_index(pad)
        if p is None:
            raise ValueError(f"no pad {pad}")
        with self._lock:
            pd = self.pads[p]
            tune_st, decay = tune_to_semitones(pd.tune), pd.decay
        roots = [Path(d) for d in within] if within else [Path(path).parent]
        return Path(self.renderer.export_pad(p, path, int(sample_rate), tune_st, decay, roots))

    # ------------------------------------------------------------ audio input (capture)
    @property
    def capture_armed(self) -> int | None:
        """1-based pad armed (``action(pad, "capture")``) to take the next input onset, or None."""
        return self._capture_armed

    def take_capture_arm(self) -> int | None:
        """The armed pad, disarming it (the audio input calls this at an onset), or None."""
        with self._lock:
            armed, self._capture_armed = self._capture_armed, None
        return armed

    @property
    def capture(self):
        """The attached audio input (a :class:`liveinstrument.capture.Capture`), or None."""
        return self._input

    def attach_input(self, capture) -> None:
        """Register the running audio input, so status views can show its meter."""
        self._input = capture

    def detach_input(self, capture) -> None:
        """Forget ``capture`` if it is the attached input."""
        if self._input is capture:
            self._input = None

    @property
    def has_encoder(self) -> bool:
        """Whether the renderer has E loaded, so audio can be analysed into a pad."""
        return bool(getattr(self.renderer, "has_encoder", False))

    # ------------------------------------------------------------ kits live, undo
    def save_kit_named(self, name: str | None = None, *, new: bool = False) -> bool:
        """Save the kit into the user's kit folder (``paths.kits_dir()/NAME/kit.yaml``), in the
        background: returns at once. ``name`` None = the current kit's name, or a new dated one
        (always a new one with ``new``, save-as). The saved kit becomes the current one. False
        for a name that is not a plain name (counted as bad input) or a full kit queue."""
        try:
            target = self.kits.save_name(name, new=new)
        except ValueError as exc:
            self._bad(str(exc))
            log.warning("kit save: %s", exc)
            return False
        return self.kits.submit(f"save '{target}'", lambda: self._save_job(target), kind="save")

    def load_kit_named(self, name: str) -> bool:
        """Load a saved (or shipped) kit by name, in the background; the pads take its sounds as
        saved. False (one log line) for a bad or unknown name."""
        try:
            path = self.kits.find(name)
        except (ValueError, FileNotFoundError) as exc:
            self._bad(str(exc))
            log.warning("kit load: %s", exc)
            return False
        return self.kits.submit(f"load '{name}'", lambda: self._load_job(path), kind="load")

    def next_kit(self) -> bool:
        """Load the next kit in browse order (the user's kits, then shipped ones; wraps)."""
        return self._step_kit(+1)

    def prev_kit(self) -> bool:
        return self._step_kit(-1)

    def undo(self) -> bool:
        """Take back the last generate or analyze (up to UNDO_DEPTH steps): the pads get their
        previous sound and controls back. False when there is nothing to undo."""
        with self._lock:
            if not self._undo:
                return False
            group = self._undo.pop()
            for p, pad, cap in group:
                self.pads[p] = pad
                if cap is None:
                    self.captured.pop(p, None)
                else:
                    self.captured[p] = cap
        for p, _, _ in group:
            self._push_mix(p)
            self._request(p)
            self._notify_pad(p)
        return True

    def kit_info(self) -> dict:
        """The current kit's name and path, whether a kit job runs, its outcome, the kits to browse."""
        return {**self.kits.info(), "undo_steps": len(self._undo)}

    def _step_kit(self, step: int) -> bool:
        nxt = self.kits.neighbour(step)
        if nxt is None:
            from ..paths import kits_dir
            log.warning("kit: no kits to browse in %s", kits_dir())
            return False
        name, path = nxt
        return self.kits.submit(f"load '{name}'", lambda: self._load_job(path), kind="load")

    def _save_job(self, name: str) -> str:
        from ..paths import kits_dir, user_kit_path
        if not isinstance(self.renderer, SyncRenderer):
            self.wait_ready(10.0)         # the stored audio matches the controls being saved
        path = self.save_kit(user_kit_path(name), within=[kits_dir()])
        self.kits.set_current(name, path)
        return f"saved kit '{name}' to {path}"

    def _load_job(self, path: Path) -> str:
        pads, kit_hash, raw, doc = load_kit(path)
        captured = load_captured(path, doc)
        n = min(len(pads), self.n_pads)
        if len(pads) != self.n_pads:
            log.warning("kit %s has %d pads, the instrument %d: %s", path, len(pads), self.n_pads,
                        "the extra ones are left out" if len(pads) > n else "the other pads keep their sounds")
        if kit_hash and kit_hash != self.model_hash:
            log.warning("kit was made with model %s, loaded model is %s: stored audio plays as saved",
                        kit_hash, self.model_hash)
        with self._lock:
            for i in range(n):
                self.pads[i] = pads[i]
                if i in captured:
                    self.captured[i] = captured[i]
                else:
                    self.captured.pop(i, None)
            self._undo.clear()               # undo takes back edits of this kit, not the one before
        for i in range(n):
            self._push_mix(i)
            self._request(i, raw=raw.get(i))
            self._notify_pad(i)
        name = kit_name_of(Path(path))
        self.kits.set_current(name, Path(path))
        return f"loaded kit '{name}' ({path})"

    def _remember(self, idx: list[int]) -> None:
        """Keep the pads' state before a generate/analyze changes them, for :meth:`undo`."""
        if not idx:
            return
        with self._lock:
            self._undo.append([(p, copy.deepcopy(self.pads[p]), self.captured.get(p)) for p in idx])
            del self._undo[:-UNDO_DEPTH]

    def _notify_pad(self, p: int) -> None:
        """Tell subscribers every value of pad ``p`` (0-based) changed: faders follow a kit load/undo."""
        for k in PAD_PARAMS:
            self._notify_current(p, k)

    # ------------------------------------------------------------ what a control surface shows (web page)
    def subscribe_hits(self, callback: Callable[[int, float], None]) -> Callable[[], None]:
        """Call ``callback(pad, velocity)`` on the triggering thread after every accepted note-on
        (any source: MIDI, OSC, web, beatbox), so a surface can flash the pad. Keep it cheap.
        Returns the unsubscribe."""
        return self._listen("_hit_subs", callback)

    def pad_sound(self, pad: int) -> tuple[int, np.ndarray] | None:
        """(generation, audio) of the pad's main sound as a hit plays it (tune and decay applied),
        copied from the ring; None before the first render. Lock-free: retried while the
        renderer is publishing, so it never waits on the audio thread."""
        p = self._pad_index(pad)
        if p is None:
            return None
        ring = self.ring
        for _ in range(8):
            s1 = int(ring.hdr[p, SEQ])
            if s1 & 1 or int(ring.hdr[p, N_RR]) <= 0:
                time.sleep(0.001)
                continue
            buf = int(ring.slot_map[p, 0])
            n = int(ring.buf_len[p, buf])
            gen = int(ring.hdr[p, GEN])
            audio = ring.audio[p, buf, :n].copy()
            if int(ring.hdr[p, SEQ]) == s1:  # a buffer in a published map is never rewritten
                return gen, audio
        return None

    def meters(self) -> dict:
        """Cheap live meters: output peak (0..1, decaying hold), sounding voices, pads whose
        newest request is not yet rendered."""
        with self._lock:
            want = dict(self._want_version)
        pending = sum(1 for i, v in want.items() if int(self.ring.hdr[i, GEN]) < v)
        m = self.mixer
        return {"peak": float(m.out_peak), "voices": m.active_voices(), "max_voices": m.max_voices,
                "renders_pending": pending, "hits": m.hits}

    def close(self) -> None:
        kits = getattr(self, "kits", None)
        if kits is not None:
            kits.close()                     # a save asked for just before quitting still lands
        r = getattr(self, "renderer", None)
        if r is not None:
            r.close()
        if getattr(self, "ring", None) is not None:
            self.mixer.close()             # the core holds pointers into the ring: it goes first
            self.mixer = None  # type: ignore[assignment]
            self.events.close()
            self.ring.close()
            self.ring = None  # type: ignore[assignment]

    def __enter__(self) -> "Instrument":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ internals
    def _request(self, p: int, raw: np.ndarray | None = None) -> None:
        with self._lock:
            self._version += 1
            pd = self.pads[p]
            req = RenderRequest(pad=p, version=self._version, z=pd.z(), c=pd.classes(),
                                tune_st=tune_to_semitones(pd.tune), decay=pd.decay,
                                round_robin=pd.round_robin, seed=pd.seed, raw=raw,
                                t_submit=time.perf_counter())
            self._want_version[p] = self._version
        self.counters["render_requests"] += 1
        self.renderer.submit(req)

    def _push_mix(self, p: int) -> None:
        pd = self.pads[p]
        self.mixer.set_pad_mix(p, gain_to_amp(pd.gain), pan_to_lr(pd.pan), pd.velocity_timbre, pd.choke)

    def _pad_index(self, pad) -> int | None:
        if isinstance(pad, (int, np.integer)) and 1 <= pad <= self.n_pads:
            return int(pad) - 1
        self._bad(f"pad {pad!r}")
        return None

    def _unit(self, value) -> float | None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            self._bad(f"value {value!r}")
            return None
        if math.isnan(v):
            self._bad("NaN value")
            return None
        return min(max(v, 0.0), 1.0)

    def _bad(self, what: str) -> None:
        self.counters["bad_input"] += 1
        log.debug("ignored bad input: %s", what)

    def _notify_current(self, p: int, name: str) -> None:
        """Notify pad ``p``'s (0-based) value of ``name`` as it is when the notice goes out, one
        notice at a time: when two threads change one value (set_param, a kit load, an analysis),
        the last notice a surface gets is the pad's value, whatever order the threads ran in
        (faders never stick on a stale value). Every pad-value notice goes through here."""
        with self._notice_lock:
            with self._lock:
                now = float(getattr(self.pads[p], name))
            self._notify(p + 1, name, now)

    def _notify(self, pad: int, name: str, value: float) -> None:
        for cb in self._subs:
            try:
                cb(pad, name, value)
            except Exception:  # a subscriber's bug must not reach the caller
                log.exception("state subscriber failed")

    def _analyze(self, p: int, source: str | np.ndarray, keep_classes: bool = False) -> None:
        from ..audio_io import AudioFileError, load_audio
        from ..signal import fit_one_shot, peak_normalize
        try:
            audio = load_audio(source)[0] if isinstance(source, str) else source
            x = peak_normalize(fit_one_shot(audio))
            z, c = self.renderer.encode(x)
        except (AudioFileError, RuntimeError, TimeoutError) as exc:
            self.counters["analyze_errors"] = self.counters.get("analyze_errors", 0) + 1
            log.warning("analyze pad %d: %s", p + 1, exc)
            return
        self._remember([p])
        with self._lock:
            pd = self.pads[p]
            pd.z_center = np.asarray(z[0], np.float32)
            if not keep_classes:
                pd.kick, pd.snare, pd.cymbal = (float(v) for v in np.asarray(c[0]).reshape(-1)[:3])
            pd.variation = 0.0
        self.counters["analyses"] = self.counters.get("analyses", 0) + 1
        self._request(p)
        for k in ("kick", "snare", "cymbal", "variation"):
            self._notify_current(p, k)
