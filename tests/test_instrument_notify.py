"""State notices to surfaces (web page, OSC feedback, status view), on the real Instrument."""
from __future__ import annotations

import threading
import time


def test_last_notice_is_the_truth_when_threads_race(live_inst):
    """Two sources (say MIDI and the web page) set one parameter at once and the first
    source's surface is slow to take its notice: the last notice a surface gets must still
    equal the instrument's value, so an on-screen fader never sticks on a stale one."""
    seen: list[float] = []
    first_in = threading.Event()

    def slow_surface(pad: int, name: str, value: float) -> None:
        if (pad, name) != (2, "kick"):
            return
        if value == 0.25:          # the first source's notice: stalls while the second sets
            first_in.set()
            time.sleep(0.3)
        seen.append(value)

    unsubscribe = live_inst.subscribe(slow_surface)
    try:
        live_inst.set_param(2, "kick", 0.5)
        a = threading.Thread(target=live_inst.set_param, args=(2, "kick", 0.25))
        a.start()
        assert first_in.wait(10.0)
        live_inst.set_param(2, "kick", 0.75)   # set while the 0.25 notice is still being taken
        a.join()
        truth = live_inst.state()["pads"][1]["kick"]
        assert truth == 0.75
        assert seen[-1] == truth, f"the surface was last told {seen[-1]}, the pad has {truth} ({seen})"
    finally:
        unsubscribe()


def test_unsubscribed_listeners_hear_nothing(live_inst):
    heard: list[tuple] = []
    hits: list[tuple] = []
    unsub = live_inst.subscribe(lambda *a: heard.append(a))
    unsub_hits = live_inst.subscribe_hits(lambda *a: hits.append(a))
    live_inst.set_param(1, "pan", 0.25)
    live_inst.trigger(1, 0.8)
    assert heard and hits
    unsub(), unsub_hits()
    n, m = len(heard), len(hits)
    live_inst.set_param(1, "pan", -0.25)
    live_inst.trigger(1, 0.8)
    assert (len(heard), len(hits)) == (n, m)
    unsub()   # twice is harmless
