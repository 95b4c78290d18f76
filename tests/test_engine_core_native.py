"""The C core: nothing allocated on the block paths, and the audio thread keeps pace while
Python threads hog the interpreter (real PortAudio stream on a real JACK dummy server)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "liveinstrument" / "engine" / "native"


@pytest.fixture(scope="module")
def alloc_driver(tmp_path_factory):
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (scripts/install-system-deps.sh installs gcc)")
    exe = tmp_path_factory.mktemp("native") / "alloc_driver"
    subprocess.run([cc, "-O2", "-std=gnu11", str(ROOT / "tests" / "native" / "alloc_driver.c"),
                    str(NATIVE / "rtcore.c"), str(NATIVE / "jack_backend.c"), "-o", str(exe),
                    "-ldl", "-lm", "-lpthread"], check=True, capture_output=True)
    return exe


def _run(exe, *args) -> dict:
    out = subprocess.run([str(exe), *args], check=True, capture_output=True, text=True, timeout=60).stdout.split()
    return {k: int(v) for k, v in zip(out[::2], out[1::2])}


def test_block_code_allocates_nothing_on_event_choke_steal_map_paths(alloc_driver):
    r = _run(alloc_driver)
    # the paths really ran ...
    assert r["hits"] > 1000 and r["steals"] > 100 and r["chokes"] > 100 and r["splits"] > 0 and r["nonfinite"] > 0
    # ... and no heap call happened while they did
    assert r["heap_calls"] == 0


def test_allocation_hook_sees_an_allocation(alloc_driver):
    """The counter is live: one malloc+free inside the armed region counts once (the free is outside)."""
    assert _run(alloc_driver, "--self-check")["heap_calls"] == 1


@pytest.mark.jack
@pytest.mark.slow
@pytest.mark.xfail(reason="open (#13): on current main the C callback stops being called after a few "
                          "seconds of GIL hog on PortAudio's JACK host (it passed on the core's own "
                          "branch before rebasing onto the renderer-supervision/kits-live changes); "
                          "not yet diagnosed", strict=False)
def test_callbacks_keep_pace_while_python_hogs_the_gil(jack_server):
    """A pure-Python busy loop with a 0.5 s switch interval starves every other Python thread;
    the stream's callback is C, so it must still run once per JACK period without underflows.
    No Python JACK client may run in this process meanwhile: JACK runs clients in graph order,
    so a Python process or xrun callback waiting for the GIL would stall the whole graph."""
    from liveinstrument.engine.audio_out import AudioOut
    from liveinstrument.engine.instrument import Instrument
    inst = Instrument(n_pads=2, random_model=0, seed=1)
    try:
        assert inst.wait_ready(60.0)
        with AudioOut(inst, blocksize=jack_server.period) as out:
            time.sleep(0.3)
            stop = threading.Event()

            def hog():
                x = 0
                while not stop.is_set():
                    x += 1

            old = sys.getswitchinterval()
            # counter and clock are read back to back (no thread switch between at 0.5 s)
            s0, t0 = out.stats(), time.monotonic()
            th = threading.Thread(target=hog, daemon=True)
            sys.setswitchinterval(0.5)
            try:
                th.start()
                time.sleep(4.0)                 # this thread itself waits up to 0.5 s per switch
                s1, t1 = out.stats(), time.monotonic()
            finally:
                stop.set()
                sys.setswitchinterval(old)
            th.join()
    finally:
        inst.close()
    expected = (t1 - t0) * jack_server.rate / jack_server.period
    got = s1["callbacks"] - s0["callbacks"]
    underflows = s1["xruns"] - s0["xruns"]
    assert got >= 0.97 * expected, f"{got} callbacks in {t1 - t0:.2f} s, expected {expected:.0f}"
    # this shared 2-core box drops the odd period with nothing running (bench_xruns' floor):
    # allow that, not the dozens a Python callback loses here
    assert underflows <= 2, f"{underflows} output underflows while the GIL was hogged"
