#!/usr/bin/env python3
"""Audio-input capture: onset detection precision/recall, class accuracy, onset -> drum latency.

1. Onset detection on labelled test recordings (synthetic vocal-percussion-like
   hits with overlapping tails, noise, hum and DC; NOT real beatboxing): precision /
   recall within +-10 ms, onset timing error.
2. Fast class decision vs. decision window (2-12 ms): accuracy on isolated hits and
   end-to-end through the detector on the recordings (the hit's onset as detected,
   previous hits' tails included), logistic regression vs. hand-tuned rules.
3. Input onset -> drum in the output, through a JACK dummy server at 128 frames: a
   JACK client plays a WAV of hits into the engine's input (PortAudio duplex stream,
   as ``drumgan live --beatbox``), another records the engine's output; latency =
   first non-zero output sample after each input onset. The JACK graph delivers the
   engine's output to a recording client one period late (measured here with a
   zero-latency pass-through stream: "graph offset"); the engine's own figure is the
   recorded one minus that offset. Add the device's playback latency for the DAC.

    python benchmarks/bench_capture.py [--hits 20] [--windows 3 6 12] [--no-jack]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
SR = 44_100


class _Stub:
    sample_rate = SR
    capture_armed = None
    capture = None
    renderer = None

    def __init__(self):
        self.triggers = []

    def trigger(self, pad, vel):
        self.triggers.append(pad)

    def analyze_audio(self, *a, **k):
        pass


def offline(seeds=range(1000, 1005), windows=(2.0, 3.0, 4.0, 6.0, 9.0, 12.0)) -> None:
    from liveinstrument.capture import Capture
    from liveinstrument.capture.fast_class import FastClassifier, evaluate, rule_classify
    from liveinstrument.capture.onset import detect_onsets, precision_recall
    from liveinstrument.capture.vocal_synth import CLASSES, make_recording
    recs = [make_recording(np.random.default_rng(s), 60) for s in seeds]
    P, R, err = [], [], []
    t0 = time.perf_counter()
    for rec in recs:
        d = detect_onsets(rec.audio)
        p, r, _ = precision_recall(d, rec.onsets, int(0.01 * SR))
        P.append(p)
        R.append(r)
        for t in rec.onsets:
            j = int(np.argmin(np.abs(d - t)))
            if abs(d[j] - t) <= 0.01 * SR:
                err.append((d[j] - t) * 1000 / SR)
    dur = sum(r.audio.size for r in recs) / SR
    el = time.perf_counter() - t0
    err = np.abs(err)
    print(f"onset detection ({len(recs)} recordings, {sum(len(r.onsets) for r in recs)} hits, {dur:.0f} s; "
          f"+-10 ms): precision {np.mean(P):.3f} recall {np.mean(R):.3f}; |timing error| p50 "
          f"{np.median(err):.2f} ms p95 {np.percentile(err, 95):.2f} ms; analysis cost {100 * el / dur:.1f}% "
          f"of one core")
    iso = evaluate(windows)
    clf = FastClassifier()
    print("class decision vs window: isolated hits (900 fresh) | end-to-end on the recordings "
          "(detected onsets, tails of earlier hits) | rules end-to-end")
    for w in windows:
        ok = rok = n = 0
        for rec in recs:
            stub = _Stub()
            cap = Capture(stub, beatbox=True, decision_ms=w, classifier=clf)
            cap.feed(rec.audio)
            ons = np.array([e["onset"] for e in cap.log])
            for t, lab in zip(rec.onsets, rec.labels):
                n += 1
                j = int(np.argmin(np.abs(ons - t))) if ons.size else -1
                if j >= 0 and abs(ons[j] - t) <= 0.01 * SR:
                    ok += cap.log[j]["class"] == lab
                    rok += CLASSES[rule_classify(cap.window(int(ons[j]), cap.decision_len))] == lab
        print(f"  {w:4.1f} ms: isolated {iso[w]['accuracy']:.3f} (rules {iso[w]['rule_accuracy']:.3f}) | "
              f"end-to-end {ok / n:.3f} | rules {rok / n:.3f}")


def _graph_offset(server: str, player_cls, recorder_cls) -> int:
    """Frames a zero-latency duplex pass-through appears late at a recording client."""
    import soundfile as sf
    import sounddevice as sd
    from liveinstrument.engine.audio_out import find_output_device

    def cb(indata, outdata, frames, t, status):
        outdata[:, 0] = indata[:, 0]
        outdata[:, 1] = indata[:, 0]
    dev = find_output_device()
    s = sd.Stream(device=(dev, dev), samplerate=SR, blocksize=128, channels=(1, 2), dtype="float32",
                  latency="low", callback=cb)
    s.start()
    pl, rec = player_cls(server), recorder_cls(server, 2.0)
    try:
        pl.connect()
        rec.connect()
        rec.on.set()
        time.sleep(0.1)
        x = np.zeros(SR // 2, np.float32)
        x[1000] = 0.5
        path = Path("/tmp") / f"drumgan_impulse_{id(x)}.wav"
        sf.write(str(path), x, SR, subtype="FLOAT")
        f0 = pl.play_wav(path)
        time.sleep(0.1)
        rec.on.clear()
        nz = np.flatnonzero(rec.buf[:rec.n])
        path.unlink()
        return int(rec.start_frame + nz[0] - (f0 + 1000))
    finally:
        rec.close()
        pl.close()
        s.stop()
        s.close()


def jack_latency(hits: int, windows, period: int = 128) -> None:
    import soundfile as sf
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_capture_jack import Player, Recorder
    from liveinstrument.capture import Capture
    from liveinstrument.capture.vocal_synth import make_recording
    from liveinstrument.engine.audio_out import AudioOut
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.engine.jack_dummy import dummy_jack
    with dummy_jack(SR, period) as server:
        off = _graph_offset(server, Player, Recorder)
        print(f"onset -> drum latency through JACK dummy, {period} frames ({period * 1000 / SR:.2f} ms), "
              f"untrained G; graph offset {off} frames ({off * 1000 / SR:.2f} ms) subtracted for 'engine'")
        with Instrument(n_pads=4, random_model=0, seed=1) as inst:
            for p in range(1, 5):
                inst.set_param(p, "round_robin", 0.0)
            inst.wait_ready(120)
            cap = Capture(inst, beatbox=True)
            with AudioOut(inst, blocksize=period, input_sink=cap.ring) as out, cap:
                pl = Player(server)
                pl.connect()
                try:
                    for w in windows:
                        cap.decision_ms = float(cap.clf.window_ms(w))
                        cap.decision_len = int(round(cap.decision_ms * SR / 1000))
                        rng = np.random.default_rng(int(w * 10))
                        labels = [("kick", "snare", "cymbal")[i % 3] for i in range(hits)]
                        r_in = make_recording(rng, labels=labels, ioi_s=(0.62, 0.7), level_db=(-18, -6),
                                              noise_db=-70, hum_db=None, dc=0.0, lead_s=0.3, tail_s=0.7)
                        path = Path("/tmp") / f"drumgan_bench_capture_{w}.wav"
                        sf.write(str(path), r_in.audio, SR, subtype="FLOAT")
                        rec = Recorder(server, r_in.audio.size / SR + 1.5)
                        log0, h0 = len(cap.log), inst.mixer.hits
                        try:
                            rec.connect()
                            rec.on.set()
                            time.sleep(0.1)
                            f0 = pl.play_wav(path)
                            time.sleep(0.3)
                            rec.on.clear()
                            y = rec.buf[:rec.n]
                            lat = []
                            for o in r_in.onsets:
                                k = f0 + int(o) - rec.start_frame
                                nz = np.flatnonzero(y[k:k + SR // 5])
                                if nz.size:
                                    lat.append(nz[0])
                            ent = list(cap.log)[log0:]
                            ons = np.array([e["onset"] for e in ent]) - (ent[0]["onset"] - r_in.onsets[0])
                            ok = 0                    # match by time: an xrun click may add an onset
                            for o, lab in zip(r_in.onsets, labels):
                                j = int(np.argmin(np.abs(ons - o)))
                                ok += abs(ons[j] - o) <= 0.01 * SR and ent[j]["class"] == lab
                            acc = ok / hits
                        finally:
                            rec.close()
                            path.unlink()
                        lat = np.array(lat, float) * 1000 / SR
                        eng = lat - off * 1000 / SR
                        print(f"  window {cap.decision_ms:4.1f} ms: {lat.size}/{hits} drums (hits {inst.mixer.hits - h0}, "
                              f"class by pad {acc:.2f}); recorded p50 {np.median(lat):.2f} p95 "
                              f"{np.percentile(lat, 95):.2f} max {lat.max():.2f} ms | engine p50 {np.median(eng):.2f} "
                              f"p95 {np.percentile(eng, 95):.2f} ms")
                finally:
                    pl.close()
                st = out.stats()
                print(f"  callback p99 {st.get('p99_ms', 0):.3f} ms, xruns {st.get('xruns')}, input overflows "
                      f"{st.get('input_overflows')}, analysis thread busy {100 * cap.busy_s / max(cap.r / SR, 1e-9):.1f}% "
                      f"of a core")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hits", type=int, default=20)
    ap.add_argument("--windows", type=float, nargs="+", default=[3.0, 6.0, 12.0])
    ap.add_argument("--no-jack", action="store_true", help="offline figures only")
    a = ap.parse_args()
    offline()
    if not a.no_jack:
        jack_latency(a.hits, a.windows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
