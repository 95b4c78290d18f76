"""Shared fixtures: a real JACK server (dummy backend) per test module, a small offline instrument.

``jack_server`` starts ``jackd -n NAME -d dummy -r 44100 -p 128`` under a unique
server name, sets ``JACK_DEFAULT_SERVER`` so PortAudio and JACK clients in this
process find it, re-initialises PortAudio (it enumerates host APIs only at
init, so a server started after ``import sounddevice`` is otherwise invisible),
waits until a client can connect, yields a small info object, then stops the
server it started (by its own PID) and restores the environment.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass

import pytest


def pytest_configure(config) -> None:
    """Tests never read or write the developer's own kits, mappings and models
    (~/.local/share/drumgan, ~/.config/drumgan): every run gets an empty $DRUMGAN_HOME."""
    import tempfile
    config._drumgan_home = tempfile.mkdtemp(prefix="drumgan-home-")
    config._drumgan_home_old = os.environ.get("DRUMGAN_HOME")
    os.environ["DRUMGAN_HOME"] = config._drumgan_home


def pytest_unconfigure(config) -> None:
    home = getattr(config, "_drumgan_home", None)
    if home:
        shutil.rmtree(home, ignore_errors=True)
        if config._drumgan_home_old is None:
            os.environ.pop("DRUMGAN_HOME", None)
        else:
            os.environ["DRUMGAN_HOME"] = config._drumgan_home_old


@dataclass
class JackServer:
    name: str
    rate: int
    period: int
    proc: subprocess.Popen
    log_path: str


def _start_jackd(rate: int = 44_100, period: int = 128, tmp_path=None, name: str | None = None) -> JackServer:
    if shutil.which("jackd") is None:
        pytest.skip("jackd not installed (Debian package jackd2; scripts/install-system-deps.sh)")
    try:
        import jack
    except (ImportError, OSError) as exc:
        pytest.skip(f"JACK-Client unusable: {exc}")
    name = name or f"drumgan_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    log_path = os.path.join(str(tmp_path) if tmp_path else "/tmp", f"{name}.log")
    env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["jackd", "--no-realtime" if os.environ.get("DRUMGAN_JACK_NO_RT") else "-R",
                                 "-n", name, "-d", "dummy", "-r", str(rate), "-p", str(period)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    t_end = time.monotonic() + 15.0
    last = None
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            raise RuntimeError(f"jackd exited with {proc.returncode}: {open(log_path).read()[-800:]}")
        try:
            c = jack.Client("drumgan_probe", servername=name, no_start_server=True)
            ok = c.samplerate == rate
            c.close()
            if ok:
                return JackServer(name, rate, period, proc, log_path)
        except jack.JackError as exc:
            last = exc
        time.sleep(0.1)
    _stop_jackd(proc)
    raise RuntimeError(f"jackd '{name}' not ready after 15 s ({last}): {open(log_path).read()[-800:]}")


def _stop_jackd(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)      # our own child, by PID
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)


@pytest.fixture(scope="module")
def jack_server(tmp_path_factory):
    """A running JACK dummy server (44.1 kHz, 128 frames) visible to PortAudio and JACK-Client."""
    srv = _start_jackd(tmp_path=tmp_path_factory.mktemp("jack"))
    old = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = srv.name
    try:
        import sounddevice as sd
        sd._terminate()
        sd._initialize()
    except (ImportError, OSError):
        pass
    try:
        yield srv
    finally:
        # PortAudio's JACK host API holds a client on this server: close it while the
        # server still runs (libjack aborts the process if the server vanishes first).
        pa = None
        try:
            import sounddevice as pa
            pa._terminate()
        except (ImportError, OSError):
            pa = None
        _stop_jackd(srv.proc)
        if old is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old
        if pa is not None:
            try:
                pa._initialize()
            except OSError:
                pass


@pytest.fixture(scope="session")
def random_synth():
    """One untrained generator for the whole session (loading torch once keeps tests short)."""
    import torch
    torch.set_num_threads(1)
    from liveinstrument.synth import DrumSynth
    return DrumSynth.random(0)


def wait_until(pred, timeout: float = 40.0, poll_s: float = 0.02) -> bool:
    """Poll ``pred`` until it is true or ``timeout`` seconds pass; its last value. Import it
    (``from conftest import wait_until``; pytest puts tests/ on sys.path)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(poll_s)
    return bool(pred())


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A fresh, empty ``$DRUMGAN_HOME`` for one test module (its kits, mappings, samples)."""
    from liveinstrument import paths
    h = tmp_path_factory.mktemp("home")
    old = os.environ.get(paths.HOME_ENV)
    os.environ[paths.HOME_ENV] = str(h)
    try:
        yield h
    finally:
        if old is None:
            os.environ.pop(paths.HOME_ENV, None)
        else:
            os.environ[paths.HOME_ENV] = old


@pytest.fixture(scope="module")
def live_inst(home):
    """The real instrument as ``drumgan live --audio-device null`` runs it (4 pads, untrained
    G in a renderer process, seed 3), all pads rendered. The audio clock (NullOut) adopts each
    published map, which is what frees the ring's buffers for the next renders."""
    from liveinstrument.engine.audio_out import NullOut
    from liveinstrument.engine.instrument import Instrument
    with Instrument(n_pads=4, random_model=0, seed=3) as i, NullOut(i):
        assert i.wait_ready(60.0)
        yield i
