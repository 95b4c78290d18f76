"""The supervised renderer against real faults: ``kill -9`` and SIGSTOP of the renderer
process, ``kill -9`` of the instrument's own process. Real processes, a real (untrained)
generator, the mixer running in real time into nothing (NullOut keeps the ring protocol
alive as a sound card would). Bounds are functional, not timings (the figures are in
benchmarks/bench_reliability.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from liveinstrument.engine.audio_out import NullOut
from liveinstrument.engine.instrument import Instrument
from liveinstrument.engine.renderer_process import RendererFailed

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _main_sound(inst: Instrument, pad: int) -> np.ndarray:
    b = int(inst.ring.slot_map[pad - 1, 0])
    return inst.ring.audio[pad - 1, b].copy()


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP])
def test_renderer_fault_is_replaced_and_changed_pad_sounds_new(fault, caplog) -> None:
    with Instrument(random_model=0, renderer_standby=True) as inst, NullOut(inst):
        assert inst.wait_ready(120)
        before = _main_sound(inst, 2)
        old = inst.renderer.pid
        time.sleep(3.0)                                   # let the standby warm up
        os.kill(old, fault)
        try:
            inst.set_param(2, "kick", 0.0 if inst.pads[1].kick > 0.5 else 1.0)
            assert inst.wait_ready(60, pads=[2]), "the replacement never rendered the changed pad"
            assert inst.renderer.pid != old and inst.renderer.restarts == 1
            assert not np.allclose(_main_sound(inst, 2), before)
            assert any("renderer process" in r.getMessage() and "took over" in r.getMessage()
                       for r in caplog.records)
            # a question after the restart is answered by the new renderer
            assert 1 in inst.renderer.raw_audio(timeout=30)
        finally:
            if _alive(old):
                os.kill(old, signal.SIGKILL)


def test_pending_question_fails_fast_when_renderer_dies() -> None:
    with Instrument(random_model=0) as inst, NullOut(inst):
        assert inst.wait_ready(120)
        os.kill(inst.renderer.pid, signal.SIGSTOP)        # it cannot answer now
        t0 = time.monotonic()
        with pytest.raises(RendererFailed):
            inst.renderer.stats(timeout=30)
        assert time.monotonic() - t0 < 10                 # not the 30 s timeout


def test_kill_9_of_the_instrument_leaves_no_process(tmp_path) -> None:
    code = textwrap.dedent("""
        import sys, time
        from liveinstrument.engine.instrument import Instrument
        if __name__ == "__main__":
            inst = Instrument(random_model=0, renderer_standby=True)
            time.sleep(4)
            print(inst.renderer.pid, inst.renderer._spare.proc.pid if inst.renderer._spare else 0, flush=True)
            time.sleep(600)
        """)
    script = tmp_path / "inst.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        pids = [int(x) for x in line.split() if int(x) > 0]
        assert pids, line
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
        p.kill()                                          # kill -9 of the instrument
        p.wait(5)
        t_end = time.monotonic() + 5.0
        left = [int(k) for k in kids] + pids
        while time.monotonic() < t_end and any(_alive(k) for k in left):
            time.sleep(0.05)
        assert not [k for k in left if _alive(k)], "children outlived the instrument"
    finally:
        if p.poll() is None:
            p.kill()
