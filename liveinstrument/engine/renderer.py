"""Renderer: turns pad parameters into playable hits in the shared ring.

``RenderCore`` is the work itself (torch via the seam, then ``dsp.shape_hit``,
then the ring's write/publish protocol). It runs either

* in its own process (``renderer_process.RendererProcess``: spawn context, torch
  imported only there, threads capped so the audio thread keeps a core; the GIL of
  the audio process is never held by torch; supervised and restarted on a crash), or
* synchronously in the caller (``SyncRenderer``; offline renders and tests),

with the same code, so an offline render sounds exactly like the live engine.

Scheduling: a request carries the pad's full render state and a version; the
newest request per pad wins and stale work for that pad is dropped (the process
reads requests off a shared board, ``pad_board.py``, so nothing queues up). The main
sound of every changed pad is rendered first, in one batch, and published at
once (that is "new sound ready"); round-robin variations follow in small
batches (one sound at a time on CPU, where batching buys no throughput), and a
background render is preempted between generator blocks as soon as a new
request arrives (``RenderCore.interrupt``), so a parameter change waits at most
one generator block for the renderer, not one whole variation batch. Slots the
mixer has played are re-rendered with fresh offsets in the background.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import dsp
from .shm_ring import ACK, GEN, Ring, RingLayout
from .state import RR_MAX_NORM

RR_BATCH_CPU = 1        # round-robin renders per batch on CPU: batch 4 costs ~4x batch 1 there
RR_BATCH_GPU = 8        # on CUDA batching is nearly free
IDLE_POLL_S = 0.01      # idle renderer: how often it looks for played slots to refill


def default_threads(n_cpu: int | None = None) -> int:
    """Renderer torch threads. The audio thread runs SCHED_FIFO, so it preempts the (niced)
    renderer whatever its thread count; the cap is about latency, not safety. On <= 2 cores
    1 thread: a 2-thread render on a 2-core box shares a core with the audio thread, the
    control threads and anything else running, and its intra-op barriers then wait for the
    slowest thread (measured: slower and far more variable than 1 thread when the machine
    is busy; see benchmarks/bench_param_change.py --threads). Above that: cores - 1 (max 8)."""
    n = n_cpu or os.cpu_count() or 1
    return 1 if n <= 2 else min(8, n - 1)


@dataclass
class RenderRequest:
    pad: int                      # 0-based
    version: int
    z: np.ndarray                 # [128]
    c: np.ndarray                 # [3] soft classes (sum 1)
    tune_st: float = 0.0
    decay: float = 1.0
    round_robin: float = 0.0
    seed: int = 0
    raw: np.ndarray | None = None  # [k, N] stored generator output (kit load): no G call
    t_submit: float = 0.0         # perf_counter (CLOCK_MONOTONIC: comparable across processes)
    t_recv: float = 0.0           # when the renderer took it off the queue


def load_synth(models_dir: str | Path | None, random_seed: int | None = None, device: str | None = None):
    """DrumSynth from ``models_dir``; an untrained one when asked or when no weights exist."""
    from ..paths import models_dir as resolve_models
    from ..synth import DrumSynth
    d = resolve_models(models_dir)
    if random_seed is None and (d / "generator.safetensors").exists():
        return DrumSynth.load(d, device=device)
    return DrumSynth.random(0 if random_seed is None else random_seed, device=device)


class RenderCore:
    def __init__(self, synth: Any, ring: Ring, sample_rate: int,
                 interrupt: Callable[[], bool] | None = None):
        self.synth = synth
        self.ring = ring
        self.sr = sample_rate
        L = ring.layout
        self.L = L
        P, S, B = L.n_pads, L.n_slots, L.n_bufs
        self.req: list[RenderRequest | None] = [None] * P
        self.raw = np.zeros((P, S, synth.n_samples), np.float32)   # generator output per slot
        self.raw_ok = np.zeros((P, S), bool)                        # raw slot matches the request
        self.raw_key: list[bytes | None] = [None] * P
        self.raw_rr = np.full(P, -1.0)
        self.map = np.zeros((P, S), np.int64)                       # what we published
        self.removed_at = np.zeros((P, B), np.int64)                # seq after a buffer left the map
        self.seen_played = np.zeros((P, S), np.int64)
        self.rr_count = np.zeros((P, S), np.int64)                  # refills per slot (seeds offsets)
        self.todo: list[set[int]] = [set() for _ in range(P)]       # slots to (re)produce
        self.published_version = np.full(P, -1, np.int64)
        self.n_generated = 0
        self.n_published = 0
        self.ready_latency_s: list[float] = []                      # submit -> main sound published
        # per published main sound: (submit->received, received->G start, G, shape+write+publish) seconds
        self.ready_breakdown: list[tuple[float, float, float, float]] = []
        self.n_preempted = 0
        self.interrupt = interrupt                                  # true: a newer request is waiting
        self.rr_batch = RR_BATCH_GPU if str(getattr(synth, "device", "cpu")).startswith("cuda") else RR_BATCH_CPU

    def adopt_ring(self) -> None:
        """Take over a ring another renderer wrote (a restart after a crash): close a seqlock it
        left odd (killed mid-publish; every map entry still names a complete buffer), learn what
        is published, and treat every buffer outside the maps as freed at the current seq, so
        nothing a voice may be playing is overwritten."""
        hdr = self.ring.hdr
        for p in range(self.L.n_pads):
            if int(hdr[p, 0]) & 1:
                hdr[p, 0] += 1
            seq = int(hdr[p, 0])
            if seq > 0:
                self.map[p] = self.ring.slot_map[p]
                self.published_version[p] = int(hdr[p, GEN])
            self.removed_at[p, :] = seq
            self.seen_played[p] = self.ring.played[p]

    # ------------------------------------------------------------ requests
    def handle(self, r: RenderRequest, t_recv: float | None = None) -> None:
        """Adopt the newest state for a pad; its main slot becomes top priority."""
        p = r.pad
        r = replace(r, t_recv=time.perf_counter() if t_recv is None else t_recv)   # the sender's stays as sent
        self.req[p] = r
        key = np.asarray(r.z, np.float32).tobytes() + np.asarray(r.c, np.float32).tobytes()
        S = self.L.n_slots
        if r.raw is not None:
            k = min(r.raw.shape[0], S)
            self.raw[p, :k] = r.raw[:k, : self.raw.shape[2]]
            self.raw_ok[p] = False
            self.raw_ok[p, :k] = True
            self.raw_key[p] = key
            self.raw_rr[p] = r.round_robin
        elif key != self.raw_key[p]:
            self.raw_ok[p] = False
            self.raw_key[p] = key
            self.raw_rr[p] = r.round_robin
        elif r.round_robin != self.raw_rr[p]:
            self.raw_ok[p, 1:] = False      # new variation amount: new variations
            self.raw_rr[p] = r.round_robin
        self.todo[p] = set(range(S)) if r.round_robin > 0 else {0}

    def poll_refills(self) -> None:
        """Slots the mixer played get fresh variations (round-robin pads only)."""
        played = self.ring.played
        for p in range(self.L.n_pads):
            r = self.req[p]
            if r is None or r.round_robin <= 0 or self.published_version[p] != r.version:
                self.seen_played[p] = played[p]
                continue
            for s in np.flatnonzero(played[p] != self.seen_played[p]):
                s = int(s)
                if s > 0:                   # slot 0 stays the pad's exact sound
                    self.raw_ok[p, s] = False
                    self.rr_count[p, s] += 1
                    self.todo[p].add(s)
            self.seen_played[p] = played[p]

    def has_work(self) -> bool:
        return any(self.todo)

    # ------------------------------------------------------------ work
    def step(self) -> int:
        """One batch: every pending main sound, else up to RR_BATCH variations. Returns hits published."""
        jobs = [(p, 0) for p in range(self.L.n_pads) if 0 in self.todo[p]]
        main = bool(jobs)
        if not jobs:
            jobs = [(p, s) for p in range(self.L.n_pads) for s in sorted(self.todo[p])][:self.rr_batch]
        if not jobs:
            return 0
        need = [(p, s) for p, s in jobs if not self.raw_ok[p, s]]
        self._t_gen0 = self._t_gen1 = time.perf_counter()
        if need:
            z = np.stack([self._slot_z(p, s) for p, s in need])
            c = np.stack([np.asarray(self.req[p].c, np.float32) for p, s in need])
            # main sounds are never preempted; background variations yield to any new request
            audio = self.synth.generate(z, c, abort=None if main else self.interrupt)
            self._t_gen1 = time.perf_counter()
            if audio is None:
                self.n_preempted += 1
                return 0
            self.n_generated += len(need)
            for (p, s), a in zip(need, audio):
                self.raw[p, s] = a
                self.raw_ok[p, s] = True
        done = 0
        for p, s in jobs:
            if self._produce(p, s):
                self.todo[p].discard(s)
                done += 1
        return done

    def run_until_idle(self, max_steps: int = 10_000) -> None:
        for _ in range(max_steps):
            if not self.has_work() or self.step() == 0:
                return

    def _slot_z(self, p: int, s: int) -> np.ndarray:
        r = self.req[p]
        z = np.asarray(r.z, np.float32)
        if s == 0 or r.round_robin <= 0:
            return z
        rng = np.random.default_rng([r.seed & 0x7FFFFFFF, p, s, int(self.rr_count[p, s])])
        d = rng.standard_normal(z.size).astype(np.float32)
        d *= np.float32(r.round_robin * RR_MAX_NORM / max(float(np.linalg.norm(d)), 1e-6))
        return z + d

    def _free_buffer(self, p: int, exclude: set[int]) -> int:
        ack = int(self.ring.fb[p, ACK])       # read ack before busy (see shm_ring protocol)
        busy = self.ring.busy[p]
        in_map = set(int(b) for b in self.map[p]) if self.published_version[p] >= 0 else set()
        for b in range(self.L.n_bufs):
            if b in in_map or b in exclude:
                continue
            if busy[b] == 0 and ack >= self.removed_at[p, b]:
                return b
        return -1

    def _produce(self, p: int, s: int) -> bool:
        """Shape raw slot s, write it to a free buffer, publish. False if no buffer is free yet."""
        r = self.req[p]
        b = self._free_buffer(p, set())
        if b < 0:
            return False
        hit = dsp.shape_hit(self.raw[p, s], r.tune_st, r.decay, self.sr, self.L.buf_len)
        self.ring.write_buffer(p, b, hit)
        old = self.map[p].copy()
        new = self.map[p].copy()
        first = self.published_version[p] < 0
        if s == 0 and (r.round_robin <= 0 or first or self.published_version[p] != r.version):
            # a new main sound: every slot points at it until its variations land
            new[:] = b
        else:
            new[s] = b
        n_rr = self.L.n_slots if r.round_robin > 0 else 1
        self.ring.publish(p, new, n_rr, gen=r.version if s == 0 else None)
        seq = int(self.ring.hdr[p, 0])
        self.map[p] = new
        if not first:
            for ob in set(int(x) for x in old) - set(int(x) for x in new):
                self.removed_at[p, ob] = seq
        if s == 0:
            if self.published_version[p] != r.version and r.t_submit:
                t = time.perf_counter()
                self.ready_latency_s.append(t - r.t_submit)
                t_recv = r.t_recv or r.t_submit
                self.ready_breakdown.append((t_recv - r.t_submit, self._t_gen0 - t_recv,
                                             self._t_gen1 - self._t_gen0, t - self._t_gen1))
                if len(self.ready_latency_s) > 4096:
                    del self.ready_latency_s[:2048], self.ready_breakdown[:2048]
            self.published_version[p] = r.version
        self.n_published += 1
        return True


# ---------------------------------------------------------------- synchronous (offline) renderer
class SyncRenderer:
    """RenderCore in the calling thread: deterministic, same audio as the live renderer."""

    def __init__(self, ring: Ring, sample_rate: int, models_dir=None, random_seed: int | None = None,
                 synth: Any = None, on_stall: Callable[[], None] | None = None):
        self.synth = synth or load_synth(models_dir, random_seed)
        # No audio thread acks the ring here: when every spare buffer awaits an ack, let the
        # (same-thread) mixer adopt the new maps, which frees the buffers nobody plays.
        self._on_stall = on_stall
        self.core = RenderCore(self.synth, ring, sample_rate)
        self.model_hash = self.synth.model_hash
        self.has_encoder = getattr(self.synth, "encoder", None) is not None

    def submit(self, req: RenderRequest) -> None:
        self.core.handle(req)
        self._run()

    def service(self) -> None:
        """Refill consumed round-robin slots now (between blocks, offline)."""
        self.core.poll_refills()
        self._run()

    def _run(self) -> None:
        self.core.run_until_idle()
        if self.core.has_work() and self._on_stall is not None:
            self._on_stall()
            self.core.run_until_idle()

    def raw_audio(self, timeout: float = 0.0) -> dict[int, np.ndarray]:
        """A copy of every rendered pad's generator output (diagnostics; saving uses
        :meth:`write_audio`, which writes the files without handing the audio out)."""
        return _raw_of(self.core)

    def write_audio(self, audio_dir: str | Path, allowed: list[str | Path],
                    timeout: float = 0.0) -> dict[int, str]:
        return write_raw_audio(self.core, audio_dir, allowed)

    def export_pad(self, pad: int, path: str | Path, sample_rate: int, tune_st: float, decay: float,
                   allowed: list[str | Path], timeout: float = 0.0) -> str:
        return export_main_sound(self.core, pad, path, sample_rate, tune_st, decay, allowed)

    def encode(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.synth.encode(audio[None])

    def close(self) -> None:
        pass


def _raw_of(core: RenderCore) -> dict[int, np.ndarray]:
    out = {}
    for p in range(core.L.n_pads):
        if core.req[p] is None or not core.raw_ok[p, 0]:
            continue
        k = core.L.n_slots if core.req[p].round_robin > 0 else 1
        ok = core.raw_ok[p, :k]
        n = int(np.argmin(ok)) if not ok.all() else k      # leading contiguous valid slots
        out[p] = core.raw[p, :max(n, 1)].copy()
    return out


# ---------------------------------------------------------------- files from the raw audio it owns
def write_raw_audio(core: RenderCore, audio_dir: str | Path, allowed: list[str | Path]) -> dict[int, str]:
    """Write every rendered pad's generator output into a kit's audio folder (one channel per
    round-robin slot, named by content, :func:`state.write_kit_audio`): pad index -> path
    relative to the kit file. The folder must lie inside ``allowed`` (file_guard.py)."""
    from .file_guard import check_writable
    from .state import raw_audio_stem, write_kit_audio
    d = check_writable(audio_dir, [Path(a) for a in allowed], folder=True)
    d.mkdir(parents=True, exist_ok=True)
    return {p: write_kit_audio(d, raw_audio_stem(p), raw.T) for p, raw in _raw_of(core).items()}


def export_main_sound(core: RenderCore, p: int, path: str | Path, sample_rate: int, tune_st: float,
                      decay: float, allowed: list[str | Path]) -> str:
    """Write pad ``p``'s (0-based) main sound as a hit plays it (tune and decay applied) as a
    WAV file at ``sample_rate``, trimmed after its last audible sample; the path written."""
    from ..audio_io import write_wav
    from .file_guard import check_writable
    if core.req[p] is None or not core.raw_ok[p, 0]:
        raise RuntimeError(f"pad {p + 1} has no rendered sound yet")
    out = check_writable(path, [Path(a) for a in allowed])
    hit = dsp.shape_hit(core.raw[p, 0], tune_st, decay, sample_rate,
                        dsp.max_hit_len(sample_rate, core.raw.shape[2]))
    end = int(np.flatnonzero(np.abs(hit) > 1e-6)[-1]) + 1 if np.any(hit) else 1
    write_wav(out, hit[:end], sample_rate)
    return str(out)


# The renderer process and its supervised parent-side handle: renderer_process.py.
