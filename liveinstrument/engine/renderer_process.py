"""The renderer in its own process, supervised: a crash or a hang costs no sound.

The child (``_renderer_main``: spawn context, torch imported only there) reads the pads'
newest state from the :class:`PadBoard` in shared memory and renders into the ring with
:class:`RenderCore`. Small messages (wake-ups, a kit's stored audio, encode/raw/stats
questions) travel over a queue; replies over another.

Supervision (parent side, :class:`RendererProcess`): a thread waits on the child's exit
sentinel (a dead child is seen at once), asks the kernel every ``WATCH_S`` whether the
child is stopped, and watches a heartbeat the child writes every ``BEAT_S`` from its own
un-niced thread (older than ``HUNG_S``: frozen) and its loop's progress. Each is logged in one
line, questions in flight fail at once with that line, and a replacement takes over the
ring and the board, so it renders the current pads, changed ones first. With
``standby=True`` a warmed-up spare waits for that moment (renders resume in well under a
second; a fresh spawn pays torch's import and the model load, seconds on a small CPU).
The ring keeps playing what it holds meanwhile: audio never stops.

Lifecycle: children die with the parent, even on ``kill -9`` of the parent: the child
sets ``PR_SET_PDEATHSIG`` (when spawned from the main thread: the signal follows the
spawning *thread*) and its heartbeat thread also exits when its parent changes.
"""
from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from multiprocessing.connection import wait as mp_wait
from pathlib import Path
from typing import Any

import numpy as np

from .pad_board import PadBoard
from .renderer import (IDLE_POLL_S, RenderCore, RenderRequest, _raw_of, default_threads,
                       export_main_sound, load_synth, write_raw_audio)
from .shm_ring import Ring, RingLayout

log = logging.getLogger("drumgan.engine")

BEAT_S = 0.01          # child heartbeat period
# Frozen: the kernel says stopped (SIGSTOP, a debugger), seen within one WATCH_S; or the
# heartbeat is older than HUNG_S. The heartbeat needs the child's GIL, which its niced render
# thread may hold while a busy machine keeps it off the CPU for a while, so that limit is loose.
HUNG_S = 2.0
STALL_S = 20.0         # main loop without a turn for this long while the heartbeat runs: wedged
WATCH_S = 0.02         # supervisor poll period
PR_SET_PDEATHSIG = 1


# ---------------------------------------------------------------- child side
def die_with_parent(parent_pid: int, use_pdeathsig: bool) -> None:
    """Make this process exit when ``parent_pid`` does (prctl PR_SET_PDEATHSIG, Linux)."""
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:      # the parent died before prctl took effect
        os._exit(0)


def _heartbeat(beat: Any, parent_pid: int) -> None:
    while True:
        beat[0] = time.monotonic()
        if os.getppid() != parent_pid:  # orphaned: re-parented to init or a subreaper
            os._exit(0)
        time.sleep(BEAT_S)


def _renderer_main(shm_name: str, layout: dict, board_shared: tuple, sample_rate: int, req_q, rep_q,
                   models_dir, random_seed, threads: int, nice: int, beat, parent_pid: int,
                   use_pdeathsig: bool, standby: bool) -> None:
    """Entry point of the renderer process (spawned: a clean interpreter, torch only here)."""
    die_with_parent(parent_pid, use_pdeathsig)
    beat[0] = beat[1] = time.monotonic()
    # started before the nice below: Linux nice is per thread, so the heartbeat keeps normal
    # priority and a busy machine does not make a healthy, niced renderer look frozen
    threading.Thread(target=_heartbeat, args=(beat, parent_pid), daemon=True, name="heartbeat").start()
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
    board = PadBoard.attach(*board_shared)
    try:
        synth = load_synth(models_dir, random_seed)
        synth.generate(np.zeros((1, synth.latent_dim), np.float32), np.full((1, 3), 1 / 3, np.float32))  # warm-up
        rep_q.put(("ready", synth.model_hash, str(synth.device), synth.encoder is not None))
    except Exception as exc:  # report, don't hang the parent
        rep_q.put(("error", f"renderer failed to start: {exc.__class__.__name__}: {exc}"))
        return
    raw_in: dict[int, tuple[int, np.ndarray]] = {}    # pad -> (version, stored audio) from a kit
    while standby:                   # a spare: loaded and warm, touching nothing until told
        beat[1] = time.monotonic()
        try:
            m = req_q.get(timeout=0.5)
        except queue.Empty:
            continue
        except (EOFError, OSError):
            return
        if m[0] == "go":
            break
        if m[0] == "raw":
            raw_in[m[1]] = (m[2], m[3])
        if m[0] == "stop":
            return
    seen_changes = [-1]
    # a waiting message or a changed pad preempts background (round-robin) renders
    core = RenderCore(synth, ring, sample_rate,
                      interrupt=lambda: board.changes() != seen_changes[0] or not req_q.empty())
    core.adopt_ring()
    handled = np.full(board.n_pads, -1, np.int64)
    # pads whose current sound is already in the ring (a takeover) are re-rendered after the
    # changed ones, so the replacement rebuilds its own copy of the raw audio without delaying
    # what the performer just changed
    current = {p for p in range(board.n_pads) if int(ring.hdr[p, 1]) == int(board.versions()[p]) >= 0}
    while True:
        beat[1] = time.monotonic()
        try:
            # blocks on the pipe (a wake-up arrives with every batch of board writes); the
            # timeout also paces the refill check of slots the mixer played
            msgs = [req_q.get(timeout=0.0 if core.has_work() else IDLE_POLL_S)]
        except queue.Empty:
            msgs = []
        except (EOFError, OSError):
            break
        while True:                   # drain
            try:
                msgs.append(req_q.get_nowait())
            except queue.Empty:
                break
            except (EOFError, OSError):
                msgs.append(("stop",))
                break
        t_recv = time.perf_counter()
        stop = False
        for m in msgs:
            kind = m[0]
            if kind == "raw":
                raw_in[m[1]] = (m[2], m[3])
            elif kind == "rawaudio":
                rep_q.put(("rawaudio", m[1], _raw_of(core)))
            elif kind in ("writeaudio", "exportpad"):
                # the raw audio stays here: the files are written by its owner, and only their
                # names (or one line saying why not) go back over the pipe
                try:
                    fn = write_raw_audio if kind == "writeaudio" else export_main_sound
                    rep_q.put(("written", m[1], fn(core, *m[2:]), None))
                except Exception as exc:  # noqa: BLE001 - one line back to the asker
                    rep_q.put(("written", m[1], None, f"{exc.__class__.__name__}: {exc}"))
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
        if stop:
            break
        seen_changes[0] = board.changes()
        board.clear_wake()
        versions = board.versions()
        for p in np.flatnonzero(versions > handled):
            p = int(p)
            if p in current and core.has_work():
                continue
            e = board.read(p)
            if e is None:
                continue
            raw = None
            if e.has_raw:
                got = raw_in.get(p)
                if got is None or got[0] != e.version:
                    continue          # its stored audio is still on the way
                raw = got[1]
            core.handle(RenderRequest(pad=p, version=e.version, z=e.z, c=e.c, tune_st=e.tune_st,
                                      decay=e.decay, round_robin=e.round_robin, seed=e.seed, raw=raw,
                                      t_submit=e.t_submit), t_recv)
            handled[p] = e.version
            current.discard(p)
        core.poll_refills()
        if core.has_work():
            core.step()
    ring.close()


# ---------------------------------------------------------------- parent side
class _Child:
    """One renderer process and its pipes."""

    def __init__(self, ctx, ring: Ring, board: PadBoard, sample_rate: int, models_dir, random_seed,
                 threads: int, nice: int, standby: bool, pdeathsig: bool | None = None):
        self.req = ctx.Queue()
        self.rep = ctx.Queue()
        self.beat = ctx.RawArray("d", 2)
        self.beat[0] = self.beat[1] = time.monotonic()
        if pdeathsig is None:
            pdeathsig = threading.current_thread() is threading.main_thread()
        self.proc = ctx.Process(target=_renderer_main, name="drumgan-renderer", daemon=True,
                                args=(ring.name, ring.layout.to_dict(), board.shared(), sample_rate, self.req,
                                      self.rep, str(models_dir) if models_dir else None, random_seed, threads,
                                      nice, self.beat, os.getpid(), pdeathsig, standby))
        self.proc.start()
        self.info: tuple | None = None

    def wait_ready(self, timeout: float) -> tuple:
        """The child's ("ready", ...) message, or ("error", why)."""
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            try:
                msg = self.rep.get(timeout=0.2)
            except queue.Empty:
                if not self.proc.is_alive():
                    return ("error", f"renderer process exited with code {self.proc.exitcode}")
                continue
            except (EOFError, OSError) as exc:
                return ("error", f"renderer pipe broke: {exc}")
            if msg[0] == "ready":
                self.info = msg
            return msg
        return ("error", "renderer process did not start in time")

    def put(self, msg) -> None:
        try:
            self.req.put(msg)
        except (OSError, ValueError):
            pass

    def kill(self, grace: float = 0.0) -> None:
        """Stop the child: ask (``grace`` > 0), then SIGKILL our own child by handle."""
        if self.proc.is_alive() and grace > 0:
            self.put(("stop",))
            self.proc.join(grace)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1.0)
        # a feeder thread still writing to a dead child's pipe must not block our exit
        self.req.cancel_join_thread()
        self.req.close()
        try:
            self.rep.put(("closed",))     # wakes our reply reader, which then returns
        except (OSError, ValueError):
            pass
        self.rep.cancel_join_thread()


def _stopped(pid: int | None) -> bool:
    """True when the kernel reports the process stopped or traced (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rfind(b")") + 2:st.rfind(b")") + 3] in (b"T", b"t")


class RendererFailed(RuntimeError):
    """A question to the renderer could not be answered: it died or froze meanwhile."""


class RendererProcess:
    """Parent-side handle of the supervised renderer process (see the module notes)."""

    def __init__(self, ring: Ring, sample_rate: int, models_dir=None, random_seed: int | None = None,
                 threads: int | None = None, nice: int = 15, start_timeout: float = 180.0,
                 standby: bool = False, hung_after_s: float = HUNG_S):
        import multiprocessing as mp
        self._ctx = mp.get_context("spawn")
        self._args = (ring, None, sample_rate, models_dir, random_seed,
                      default_threads() if threads is None else threads, nice)
        self.ring = ring
        self.board = PadBoard(ring.layout.n_pads, ctx=self._ctx)
        self._args = (ring, self.board, *self._args[2:])
        self.hung_after_s = hung_after_s
        self.standby = standby
        self.restarts = 0
        self.recovery_s: list[float] = []    # failure seen -> replacement rendering
        self.failures_seen: list[float] = []  # time.monotonic() each failure was noticed (benchmarks)
        self._closing = False
        self._lock = threading.Lock()
        self._waiters: dict[int, queue.Queue] = {}
        self._token = 0
        self._raw_sent: dict[int, tuple[int, np.ndarray]] = {}
        self._spare: _Child | None = None
        self._spare_ready = threading.Event()
        self._child = _Child(self._ctx, *self._args, standby=False)
        msg = self._child.wait_ready(start_timeout)
        if msg[0] != "ready":
            self._child.kill()
            raise RuntimeError(msg[1])
        _, self.model_hash, self.device, self.has_encoder = msg
        self._reader = self._start_reader(self._child)
        self._stop = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="renderer-supervisor", daemon=True)
        self._supervisor.start()

    # ------------------------------------------------------------ requests
    def submit(self, req: RenderRequest) -> None:
        """Publish the pad's newest state on the board (newest wins) and wake the renderer."""
        c = self._child
        if req.raw is not None:
            raw = np.ascontiguousarray(req.raw, np.float32)
            self._raw_sent[req.pad] = (req.version, raw)
            c.put(("raw", req.pad, req.version, raw))
        else:
            self._raw_sent.pop(req.pad, None)
        self.board.write(req.pad, req.version, req.z, req.c, req.tune_st, req.decay, req.round_robin,
                         req.seed, has_raw=req.raw is not None, t_submit=req.t_submit or None)
        if self.board.request_wake():
            c.put(("wake",))

    def service(self) -> None:
        pass  # the process polls refills itself

    def raw_audio(self, timeout: float = 30.0) -> dict[int, np.ndarray]:
        """A copy of every rendered pad's generator output, pickled back over the pipe (MBs:
        diagnostics only; saving uses :meth:`write_audio`)."""
        return self._ask("rawaudio", timeout=timeout)[2]

    def write_audio(self, audio_dir: str | Path, allowed: list[str | Path],
                    timeout: float = 30.0) -> dict[int, str]:
        """Have the renderer write the raw audio it holds into a kit's audio folder (inside
        ``allowed``); pad index -> path relative to the kit. Only the names cross the pipe."""
        return self._written(self._ask("writeaudio", str(audio_dir), [str(a) for a in allowed],
                                       timeout=timeout))

    def export_pad(self, pad: int, path: str | Path, sample_rate: int, tune_st: float, decay: float,
                   allowed: list[str | Path], timeout: float = 30.0) -> str:
        """Have the renderer write pad ``pad``'s (0-based) main sound as a WAV file."""
        return self._written(self._ask("exportpad", pad, str(path), int(sample_rate), float(tune_st),
                                       float(decay), [str(a) for a in allowed], timeout=timeout))

    @staticmethod
    def _written(msg):
        if msg[2] is None:
            raise RuntimeError(msg[3])
        return msg[2]

    def stats(self, timeout: float = 10.0) -> dict:
        d = self._ask("stats", timeout=timeout)[2]
        d["restarts"] = self.restarts
        return d

    def encode(self, audio: np.ndarray, timeout: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
        msg = self._ask("encode", np.asarray(audio, np.float32), timeout=timeout)
        if msg[2] is None:
            raise RuntimeError(msg[3])
        return msg[2][None], msg[3][None]

    @property
    def pid(self) -> int | None:
        """PID of the renderer process now serving (for tests and the status view)."""
        return self._child.proc.pid

    def _ask(self, kind: str, *args, timeout: float = 30.0):
        with self._lock:
            self._token += 1
            tok = self._token
            w: queue.Queue = queue.Queue()
            self._waiters[tok] = w
            child = self._child
        child.put((kind, tok, *args))
        try:
            msg = w.get(timeout=timeout)
        except queue.Empty:
            self._waiters.pop(tok, None)
            raise TimeoutError(f"renderer did not answer '{kind}' within {timeout:.0f} s") from None
        if msg[0] == "failed":
            raise RendererFailed(msg[2])
        return msg

    # ------------------------------------------------------------ replies
    def _start_reader(self, child: _Child) -> threading.Thread:
        t = threading.Thread(target=self._read_replies, args=(child,), name="renderer-replies", daemon=True)
        t.start()
        return t

    def _read_replies(self, child: _Child) -> None:
        while True:
            try:
                msg = child.rep.get()
            except (EOFError, OSError, ValueError):
                return
            except Exception as e:  # noqa: BLE001 - e.g. a reply cut short by a kill
                if not self._closing and child is self._child:
                    log.warning("renderer: unreadable reply (%s: %s)", type(e).__name__, e)
                return
            if msg[0] == "closed":
                return
            w = self._waiters.pop(msg[1], None) if len(msg) > 1 and isinstance(msg[1], int) else None
            if w is not None:
                w.put(msg)

    # ------------------------------------------------------------ supervision
    def _supervise(self) -> None:
        if self.standby:
            self._start_spare()
        while not self._stop.is_set():
            c = self._child
            if mp_wait([c.proc.sentinel], timeout=WATCH_S):
                if self._stop.is_set():
                    return
                c.proc.join(0.05)
                self._replace(f"renderer process died (exit code {c.proc.exitcode})")
                continue
            now = time.monotonic()
            if _stopped(c.proc.pid):
                self._replace("renderer process stopped (SIGSTOP or a debugger)")
            elif now - c.beat[0] > self.hung_after_s:
                self._replace(f"renderer process froze (no heartbeat for {now - c.beat[0]:.2f} s)")
            elif now - c.beat[1] > STALL_S:
                self._replace(f"renderer process stalled (its loop has not turned for {now - c.beat[1]:.0f} s)")
            if self.standby and not self._stop.is_set():
                if self._spare is not None and not self._spare.proc.is_alive():
                    log.warning("renderer: the standby exited (code %s); starting another",
                                self._spare.proc.exitcode)
                    self._spare.kill()
                    self._spare = None
                if self._spare is None:
                    self._start_spare()

    def _start_spare(self) -> None:
        """Spawn a warm spare (from this long-lived thread: PDEATHSIG follows the spawning
        thread, so a short-lived thread would take the spare down with it)."""
        try:
            self._spare = _Child(self._ctx, *self._args, standby=True, pdeathsig=True)
        except Exception as exc:  # noqa: BLE001 - no spare: a failure then spawns afresh
            log.warning("renderer: could not start a standby (%s)", exc)
            self._spare = None

    def _replace(self, why: str) -> None:
        t0 = time.monotonic()
        self.failures_seen.append(t0)
        old = self._child
        with self._lock:
            waiters, self._waiters = self._waiters, {}
        for w in waiters.values():
            w.put(("failed", 0, f"{why}; restarting it"))
        old.kill()
        spare, self._spare = self._spare, None
        if spare is not None and spare.info is None:
            msg = spare.wait_ready(60.0)
            if msg[0] != "ready":
                spare.kill()
                spare = None
        new = spare
        if new is None:
            new = _Child(self._ctx, *self._args, standby=False, pdeathsig=True)
            msg = new.wait_ready(180.0)
            if msg[0] != "ready":
                new.kill()
                log.error("%s; the replacement failed too (%s): the sound in the ring keeps playing, "
                          "nothing new is rendered", why, msg[1])
                self._stop.set()
                return
        for pad, (version, raw) in list(self._raw_sent.items()):
            new.put(("raw", pad, version, raw))
        new.put(("go",))
        with self._lock:
            self._child = new
        self._reader = self._start_reader(new)
        self.restarts += 1
        dt = time.monotonic() - t0
        self.recovery_s.append(dt)
        log.warning("%s; %s took over in %.2f s with the current pads", why,
                    "the standby renderer" if spare is not None else "a new renderer", dt)

    def close(self) -> None:
        self._closing = True
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            self._supervisor.join(2.0)
        # both are asked at once and get half a second (they hold nothing the parent does not
        # release itself), then SIGKILL: shutdown must end within 2 s (issue #15)
        kids = [c for c in (self._spare, self._child) if c is not None]
        for c in kids:
            if c.proc.is_alive():
                c.put(("stop",))
        t_end = time.monotonic() + 0.5
        for c in kids:
            c.proc.join(max(0.0, t_end - time.monotonic()))
            c.kill()
        for w in list(self._waiters.values()):
            w.put(("failed", 0, "the instrument is closing"))
