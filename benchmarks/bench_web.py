#!/usr/bin/env python3
"""The browser page: a pad click -> first output sample, and xruns with the page open vs closed.

Runs as ``drumgan live`` does: the Instrument (shipped models, renderer process), its
PortAudio stream on a JACK dummy server (44.1 kHz, 128 frames) and the WebServer in this
process; a real headless Chromium (Selenium) shows the page.

1. Click latency. Selenium clicks pad 1 (CDP mouse events, as a real mouse's). The page
   stamps each pointerdown with ``performance.timeOrigin + event.timeStamp`` (epoch ms, the
   same system clock as Python's ``time.time()``), sends the trigger over the WebSocket; a
   JACK client records the instrument's output. A click's JACK frame is the recorder's
   ``frame_time`` read next to ``time.time()`` moved by the click's offset; the latency is
   up to the first recorded sample over 1e-4. It is split at ``Instrument.trigger`` (a hit
   subscriber stamps ``time.time()`` and JACK's ``frame_time``): page -> instrument (event
   handler, WebSocket, server) and instrument -> first sample (event ring, the core's
   ``--timing constant`` one block, the block itself).
2. Xruns side by side: the same stimulus (8 hits/s over 8 pads, a 20 Hz variation sweep that
   re-renders a pad each time, so the page gets hits, values, meters and redrawn sounds)
   in alternating segments with the page closed (about:blank: no WebSocket) and open and
   streaming. JACK's own xrun reports (a client with no process callback) and PortAudio's
   underflow flags are counted per segment, with the C callback's duration. Chromium runs on
   the same machine here; on stage it runs on the tablet.

    python benchmarks/bench_web.py [--clicks 30] [--segments 4] [--segment-s 20]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))      # web_rig: the tests' Chromium and JACK recorder


def _tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and all its descendants, from /proc."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
                procs[int(d)] = (int(st[1]), (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK"))
            except (OSError, IndexError, ValueError):
                pass
    keep, total, grew = {root}, 0.0, True
    while grew:
        grew = False
        for pid, (ppid, _) in procs.items():
            if ppid in keep and pid not in keep:
                keep.add(pid)
                grew = True
    return sum(procs[p][1] for p in keep if p in procs)


def _pct(x, q) -> float:
    return float(np.percentile(np.asarray(x), q)) if len(x) else float("nan")


def click_latency(drv, inst, rec, n_clicks: int) -> dict:
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.by import By
    from web_rig import until
    rate = rec.rate
    at_trigger: list[tuple[float, int]] = []
    armed = threading.Event()            # the instrument has no unsubscribe: disarmed after the clicks

    def stamp() -> tuple[float, int]:
        """(time.time(), JACK frame time) read together: the pair whose bracket is shortest of 5
        (a thread switch between the two reads would skew the split by milliseconds)."""
        best = None
        for _ in range(5):
            a = time.time()
            f = rec.now()
            b = time.time()
            if best is None or b - a < best[0]:
                best = (b - a, (a + b) / 2, f)
        return best[1], best[2]

    def on_hit(pad: int, vel: float) -> None:
        if armed.is_set():
            at_trigger.append(stamp())

    inst.subscribe_hits(on_hit)
    armed.set()
    total, page_part, engine_part, skew = [], [], [], []
    el = drv.find_element(By.CSS_SELECTOR, '.pad[data-pad="1"]')
    dy = int(-0.4 * el.size["height"])
    rng = np.random.default_rng(0)
    for i in range(n_clicks):
        rec.wait_quiet(0.1)
        time.sleep(rng.uniform(0.0, 0.01))                  # a random phase against JACK's cycle
        n_before = drv.execute_script("return window.drumgan.clicks.length")
        at_trigger.clear()
        t_ref, f_ref = stamp()
        ActionChains(drv).move_to_element_with_offset(el, 0, dy).click().perform()
        onset = rec.onset_after(f_ref)
        t_click = until(lambda: drv.execute_script(
            f"const c = window.drumgan.clicks; return c.length > {n_before} && c[c.length - 1]"), 5,
            "click stamped") / 1e3
        until(lambda: at_trigger, 5, "trigger seen")
        f_click = f_ref + (t_click - t_ref) * rate
        f_onset = rec.start_frame + onset
        t_trig, f_trig = at_trigger[0]
        total.append((f_onset - f_click) / rate * 1e3)
        page_part.append((t_trig - t_click) * 1e3)
        engine_part.append((f_onset - f_trig) / rate * 1e3)
        # the page's clock against Python's, through one round trip (sanity check only)
        a = time.time()
        js = drv.execute_script("return performance.timeOrigin + performance.now()") / 1e3
        b = time.time()
        skew.append(((js - (a + b) / 2) * 1e3, (b - a) * 1e3))
        if i == 0:
            total.clear(), page_part.clear(), engine_part.clear()     # first click warms the paths
    armed.clear()
    return {"total": total, "page": page_part, "engine": engine_part, "skew": skew}


def xrun_segments(drv, url, inst, out, server, n_seg: int, seg_s: float) -> list[dict]:
    import jack
    from web_rig import open_page
    mon = jack.Client("web_xrun_mon", servername=server, no_start_server=True)
    xr = [0]
    mon.set_xrun_callback(lambda d: xr.__setitem__(0, xr[0] + 1))
    mon.activate()
    stop = threading.Event()

    def stimulus():
        i = 0
        t_next = time.monotonic()
        while not stop.is_set():
            inst.trigger(1 + i % 8, 0.4 + 0.5 * ((i * 7) % 10) / 10)
            inst.set_param(9 + (i // 8) % 4, "variation", 0.5 + 0.4 * np.sin(i / 5))
            inst.set_param(9 + (i // 8) % 4, "variation", 0.5 + 0.4 * np.sin(i / 5 + 1))
            i += 1
            t_next += 1 / 8
            time.sleep(max(0.0, t_next - time.monotonic()))

    th = threading.Thread(target=stimulus, daemon=True)
    th.start()
    res = []
    mixer = inst.mixer
    try:
        for s in range(n_seg):
            page_open = s % 2 == 1
            if page_open:
                open_page(drv, url)
            else:
                drv.get("about:blank")
            time.sleep(1.0)                                  # settle: socket open/closed, page drawn
            x0, u0 = xr[0], out.stats()["xruns"]
            k0 = int(out.stats()["callbacks"])
            m0 = drv.execute_script("return window.drumgan ? window.drumgan.messages : 0") if page_open else 0
            c0, b0, w0 = time.process_time(), _tree_cpu_s(drv.service.process.pid), time.monotonic()
            time.sleep(seg_s)
            c1, b1, w1 = time.process_time(), _tree_cpu_s(drv.service.process.pid), time.monotonic()
            k1 = int(out.stats()["callbacks"])
            d = mixer.durations[np.arange(k0, k1) & (mixer.durations.size - 1)] * 1e3
            m1 = drv.execute_script("return window.drumgan ? window.drumgan.messages : 0") if page_open else 0
            res.append({"open": page_open, "xruns": xr[0] - x0, "underflows": out.stats()["xruns"] - u0,
                        "callbacks": k1 - k0, "p99_ms": _pct(d, 99), "max_ms": float(d.max()) if d.size else 0.0,
                        "frames_to_page": m1 - m0, "load": os.getloadavg()[0],
                        "cpu_inst": (c1 - c0) / (w1 - w0), "cpu_browser": (b1 - b0) / (w1 - w0)})
    finally:
        stop.set()
        th.join()
        mon.deactivate()
        mon.close()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, default=30)
    ap.add_argument("--segments", type=int, default=4, help="alternating closed/open segments (even)")
    ap.add_argument("--segment-s", type=float, default=20.0)
    ap.add_argument("--period", type=int, default=128)
    a = ap.parse_args()
    from liveinstrument.engine.audio_out import AudioOut
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.jack_dummy import dummy_jack
    from liveinstrument.web.server import WebServer
    from web_rig import JackRecorder, chromium, open_page
    load0 = os.getloadavg()
    drv = chromium()
    if drv is None:
        print("chromedriver not found: install chromium-driver (scripts/install-system-deps.sh)")
        return 1
    try:
        with dummy_jack(44_100, a.period) as server, Instrument(n_pads=16, seed=1) as inst:
            for p in range(1, 17):
                inst.set_param(p, "round_robin", 0.0)
            inst.wait_ready(120)
            with AudioOut(inst, blocksize=a.period) as out, WebServer(inst, out, port=0) as web:
                rec = JackRecorder(server, a.clicks * 2.0 + 30.0, name="web_bench_rec")
                try:
                    rec.connect_to()
                    open_page(drv, web.url)
                    lat = click_latency(drv, inst, rec, a.clicks + 1)
                finally:
                    rec.close()                 # its Python process callback would count against the page
                segs = xrun_segments(drv, web.url, inst, out, server, a.segments, a.segment_s)
                policy = out.stats().get("audio_thread_policy")
    finally:
        drv.quit()
    block_ms = a.period / 44.1
    print(f"browser page (JACK dummy 44.1 kHz, {a.period} frames = {block_ms:.2f} ms; audio thread {policy}; "
          f"shipped models; {os.cpu_count()} cores, load avg before {load0[0]:.2f}; headless Chromium on the "
          f"same machine)")
    t, pg, en = lat["total"], lat["page"], lat["engine"]
    print(f"  pad click -> first output sample, {len(t)} clicks: p50 {_pct(t, 50):.2f} ms  p95 {_pct(t, 95):.2f} ms  "
          f"max {max(t):.2f} ms")
    print(f"    page -> Instrument.trigger (handler, WebSocket, server): p50 {_pct(pg, 50):.2f}  p95 {_pct(pg, 95):.2f} ms")
    print(f"    trigger -> first sample (event ring, +1 block --timing constant, the block): p50 {_pct(en, 50):.2f}  "
          f"p95 {_pct(en, 95):.2f} ms")
    gap = np.abs(np.asarray(t) - np.asarray(pg) - np.asarray(en))
    print(f"    clocks: total - (page part + engine part) median {np.median(gap):.3f} ms, max {gap.max():.3f} ms "
          f"(JACK frame clock against time.time()); the page's clock read inside a WebDriver round trip: "
          f"{_pct([k[0] for k in lat['skew']], 50):+.2f} ms from its midpoint, round trip "
          f"{_pct([k[1] for k in lat['skew']], 50):.2f} ms (medians): the same system clock")
    print("  xruns, same stimulus (8 hits/s, 16 re-renders/s), alternating segments:")
    for s in segs:
        print(f"    page {'open, streaming' if s['open'] else 'closed         '}  {a.segment_s:.0f} s: JACK xruns "
              f"{s['xruns']:3d}  PortAudio underflows {s['underflows']:3d}  callback p99 {s['p99_ms']:.3f} ms  "
              f"max {s['max_ms']:.3f} ms  ({s['frames_to_page']} frames to the page; CPU: instrument process "
              f"{100 * s['cpu_inst']:.0f} %, Chromium {100 * s['cpu_browser']:.0f} % of a core; load {s['load']:.2f})")
    for name, want in (("closed", False), ("open", True)):
        g = [s for s in segs if s["open"] is want]
        if not g:
            continue
        secs = len(g) * a.segment_s
        print(f"  page {name:6s}: {sum(s['xruns'] for s in g)} JACK xruns in {secs:.0f} s "
              f"({60 * sum(s['xruns'] for s in g) / max(secs, 1e-9):.1f}/min), "
              f"{sum(s['underflows'] for s in g)} underflows, callback max {max(s['max_ms'] for s in g):.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
