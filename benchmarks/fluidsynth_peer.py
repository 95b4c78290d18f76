"""FluidSynth (a C sample player) as the peer in the benchmarks: ``fluidsynth -a jack -m jack``
on a given JACK server, reverb and chorus off, the GM soundfont; started and stopped by PID."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

from liveinstrument.child_process import stop_child

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


@contextlib.contextmanager
def fluidsynth(server: str, period: int, name: str = "fluidpeer"):
    """Yield (midi input port, left output port) full names of a running FluidSynth."""
    import jack
    if shutil.which("fluidsynth") is None or not os.path.exists(SOUNDFONT):
        raise RuntimeError("fluidsynth or the FluidR3 GM soundfont missing (apt-get install fluidsynth fluid-soundfont-gm)")
    cmd = ["fluidsynth", "-a", "jack", "-m", "jack", "-i", "-s", "-g", "1.0", "-R", "0", "-C", "0",
           "-z", str(period), "-o", f"audio.jack.id={name}", "-o", f"midi.jack.id={name}_midi",
           "-o", f"audio.jack.server={server}", "-o", f"midi.jack.server={server}", "-o", "audio.jack.autoconnect=0",
           SOUNDFONT]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=dict(os.environ, JACK_DEFAULT_SERVER=server))
    c = jack.Client("fluid_find", servername=server, no_start_server=True)
    try:
        t_end = time.monotonic() + 20
        while True:
            mi = [p.name for p in c.get_ports(f"{name}_midi", is_midi=True, is_input=True)]
            au = [p.name for p in c.get_ports(name, is_audio=True, is_output=True)]   # audio may share the MIDI client
            if mi and au:
                break
            if proc.poll() is not None or time.monotonic() > t_end:
                raise RuntimeError(f"fluidsynth did not come up ({' '.join(cmd)})")
            time.sleep(0.2)
        c.close()
        time.sleep(0.5)
        yield mi[0], sorted(au)[0]
    finally:
        with contextlib.suppress(Exception):
            c.close()
        stop_child(proc)
