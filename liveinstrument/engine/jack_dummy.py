"""Start a private JACK server with the dummy backend (benchmarks, scripted runs without a sound card).

PortAudio enumerates host APIs only when it initialises, so after the server is
up we point ``JACK_DEFAULT_SERVER`` at it and re-initialise PortAudio; on exit
PortAudio lets go of the server *before* the server stops (libjack aborts the
process when its server vanishes under an open client).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid

from ..child_process import stop_child


@contextlib.contextmanager
def dummy_jack(rate: int = 44_100, period: int = 128, name: str | None = None):
    """Yield the server name of a running ``jackd -d dummy`` (stopped, by its PID, on exit)."""
    import jack
    import sounddevice as sd
    name = name or f"drumgan_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    proc = subprocess.Popen(["jackd", "-R", "-n", name, "-d", "dummy", "-r", str(rate), "-p", str(period)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=dict(os.environ, JACK_NO_AUDIO_RESERVATION="1"))
    old = os.environ.get("JACK_DEFAULT_SERVER")
    try:
        t_end = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jackd exited with code {proc.returncode}")
            try:
                jack.Client("probe", servername=name, no_start_server=True).close()
                break
            except jack.JackError:
                if time.monotonic() > t_end:
                    raise RuntimeError("jackd did not come up within 15 s") from None
                time.sleep(0.1)
        os.environ["JACK_DEFAULT_SERVER"] = name
        sd._terminate()
        sd._initialize()
        yield name
    finally:
        with contextlib.suppress(Exception):
            sd._terminate()
        stop_child(proc)
        if old is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old
        with contextlib.suppress(Exception):
            sd._initialize()
