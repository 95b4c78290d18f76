"""Renderer: turns pad parameters into playable hits in the shared ring.

``RenderCore`` is the work itself (torch via the seam, then ``dsp.shape_hit``,
then the ring's write/publish protocol). It runs either

* in its own process (``RendererProcess``; spawn context, torch imported only
  there, threads capped so the audio thread keeps a core; the GIL of the audio
  process is never held by torch), or
* synchronously in the caller (``SyncRenderer``; offline renders and tests),

with the same code, so an offline render sounds exactly like the live engine.

Scheduling: a request carries the pad's full render state and a version; the
newest request per pad wins and stale work for that pad is dropped. The main
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
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import dsp
from .shm_ring import ACK, Ring, RingLayout
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
    def __init__(self, synth: Any, ring: Ring, sample_rate: int):
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
        self.interrupt: Callable[[], bool] | None = None            # true: a newer request is waiting
        self.rr_batch = RR_BATCH_GPU if str(getattr(synth, "device", "cpu")).startswith("cuda") else RR_BATCH_CPU

    # ------------------------------------------------------------ requests
    def handle(self, r: RenderRequest, t_recv: float | None = None) -> None:
        """Adopt the newest state for a pad; its main slot becomes top priority."""
        p = r.pad
        r.t_recv = time.perf_counter() if t_recv is None else t_recv
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
        return _raw_of(self.core)

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


# ---------------------------------------------------------------- renderer process
def _renderer_main(shm_name: str, layout: dict, sample_rate: int, req_q, rep_q, models_dir,
                   random_seed, threads: int, nice: int) -> None:
    """Entry point of the renderer process (spawned: a clean interpreter, torch only here)."""
    try:
        # The audio callback is Python: it needs the GIL, and an engine thread preempted while
        # holding it (priority inversion) delays the SCHED_FIFO callback. A low-priority
        # renderer preempts those threads less: on 2 busy cores nice 15 gave 7 xruns/min vs
        # 43/min at nice 5 with the same param-change latency (benchmarks/bench_xruns.py --nice).
        os.nice(nice)
    except OSError:
        pass
    import torch
    torch.set_num_threads(max(1, threads))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    ring = Ring.attach(shm_name, RingLayout(**layout))
    try:
        synth = load_synth(models_dir, random_seed)
        core = RenderCore(synth, ring, sample_rate)
        synth.generate(np.zeros((1, synth.latent_dim), np.float32), np.full((1, 3), 1 / 3, np.float32))  # warm-up
        rep_q.put(("ready", synth.model_hash, str(synth.device), synth.encoder is not None))
    except Exception as exc:  # report, don't hang the parent
        rep_q.put(("error", f"renderer failed to start: {exc.__class__.__name__}: {exc}"))
        return
    # a waiting message preempts background (round-robin) renders between generator blocks
    core.interrupt = lambda: not req_q.empty()
    while True:
        try:
            # blocks on the pipe (wakes at once on a request); the timeout only paces the
            # refill check of slots the mixer played (shared memory, no wake-up of its own)
            msgs = [req_q.get(timeout=0.0 if core.has_work() else IDLE_POLL_S)]
        except queue.Empty:
            msgs = []
        except (EOFError, OSError):
            break
        while True:                   # drain: coalesce everything that queued up
            try:
                msgs.append(req_q.get_nowait())
            except queue.Empty:
                break
            except (EOFError, OSError):
                msgs.append(("stop",))
                break
        t_recv = time.perf_counter()
        newest: dict[int, RenderRequest] = {}
        stop = False
        for m in msgs:
            kind = m[0]
            if kind == "render":
                r: RenderRequest = m[1]
                if r.pad not in newest or r.version >= newest[r.pad].version:
                    newest[r.pad] = r
            elif kind == "raw":
                rep_q.put(("raw", m[1], _raw_of(core)))
            elif kind == "encode":
                try:
                    z, c = synth.encode(m[2][None])
                    rep_q.put(("encoded", m[1], z[0], c[0]))
                except Exception as exc:
                    rep_q.put(("encoded", m[1], None, f"{exc.__class__.__name__}: {exc}"))
            elif kind == "stats":
                rep_q.put(("stats", m[1], {"generated": core.n_generated, "published": core.n_published,
                                           "preempted": core.n_preempted, "threads": torch.get_num_threads(),
                                           "nice": os.nice(0), "bf16": bool(getattr(synth, "bf16", False)),
                                           "ready_latency_s": core.ready_latency_s[-1000:],
                                           "ready_breakdown_s": core.ready_breakdown[-1000:]}))
            elif kind == "stop":
                stop = True
        for r in newest.values():
            core.handle(r, t_recv)
        if stop:
            break
        core.poll_refills()
        if core.has_work():
            core.step()
    ring.close()


class RendererProcess:
    """Parent-side handle of the renderer process."""

    def __init__(self, ring: Ring, sample_rate: int, models_dir=None, random_seed: int | None = None,
                 threads: int | None = None, nice: int = 15, start_timeout: float = 180.0):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        if threads is None:
            threads = default_threads()
        self._req = ctx.Queue()
        self._rep = ctx.Queue()
        self._closing = False
        self.proc = ctx.Process(target=_renderer_main, name="drumgan-renderer", daemon=True,
                                args=(ring.name, ring.layout.to_dict(), sample_rate, self._req, self._rep,
                                      str(models_dir) if models_dir else None, random_seed, threads, nice))
        self.proc.start()
        msg = self._get(start_timeout)
        if msg is None or msg[0] != "ready":
            self.close()
            raise RuntimeError(msg[1] if msg else "renderer process did not start in time")
        _, self.model_hash, self.device, self.has_encoder = msg
        self._waiters: dict[int, "queue.Queue"] = {}
        self._token = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_replies, name="renderer-replies", daemon=True)
        self._reader.start()

    def _get(self, timeout: float):
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            try:
                return self._rep.get(timeout=0.2)
            except queue.Empty:
                if not self.proc.is_alive():
                    return ("error", f"renderer process exited with code {self.proc.exitcode}")
        return None

    def _read_replies(self) -> None:
        while True:
            try:
                msg = self._rep.get()
            except (EOFError, OSError, ValueError):
                return
            except Exception as e:  # noqa: BLE001 - e.g. a reply cut short by terminate() at close
                if not self._closing:
                    import sys
                    print(f"renderer: unreadable reply ({type(e).__name__}: {e}); replies stop, "
                          "the sound already in the ring keeps playing", file=sys.stderr)
                return
            if msg[0] == "closed":
                return
            w = self._waiters.pop(msg[1], None) if len(msg) > 1 and isinstance(msg[1], int) else None
            if w is not None:
                w.put(msg)

    def _ask(self, kind: str, *args, timeout: float = 30.0):
        with self._lock:
            self._token += 1
            tok = self._token
            w: queue.Queue = queue.Queue()
            self._waiters[tok] = w
        self._req.put((kind, tok, *args))
        try:
            return w.get(timeout=timeout)
        except queue.Empty:
            self._waiters.pop(tok, None)
            raise TimeoutError(f"renderer did not answer '{kind}' within {timeout:.0f} s") from None

    def submit(self, req: RenderRequest) -> None:
        self._req.put(("render", req))

    def service(self) -> None:
        pass  # the process polls refills itself

    def raw_audio(self, timeout: float = 30.0) -> dict[int, np.ndarray]:
        return self._ask("raw", timeout=timeout)[2]

    def stats(self, timeout: float = 10.0) -> dict:
        return self._ask("stats", timeout=timeout)[2]

    def encode(self, audio: np.ndarray, timeout: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
        msg = self._ask("encode", np.asarray(audio, np.float32), timeout=timeout)
        if msg[2] is None:
            raise RuntimeError(msg[3])
        return msg[2][None], msg[3][None]

    def close(self) -> None:
        self._closing = True
        if self.proc.is_alive():
            try:
                self._req.put(("stop",))
            except (OSError, ValueError):
                pass
            self.proc.join(5.0)
            if self.proc.is_alive():
                self.proc.terminate()       # our own child, by handle
                self.proc.join(2.0)
        try:
            self._rep.put(("closed",))
        except (OSError, ValueError):
            pass


Callback = Callable[..., None]
