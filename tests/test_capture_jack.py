"""Audio input through a real JACK dummy server: beatbox, analyze-to-pad, bad input.

A JACK client ("player") plays WAV files into the instrument's input port
(PortAudio duplex stream, as ``drumgan live --input-device ... --beatbox`` opens
it); another JACK client records the instrument's output. The input hits are
SYNTHESIZED vocal-percussion-like bursts (``capture/vocal_synth.py``: a low
voiced thump for "kick", a band-passed noise burst for "snare", a hiss for
"cymbal"), written to WAV with known onset times. This is not real beatboxing.

The generator is untrained (random weights, plus a random encoder saved as a
models directory so the real analyze path runs in the renderer process): the
drums' classes cannot be judged by ear, so the class is asserted by which pad was
triggered, the timing by the recorded output.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soundfile as sf

pytestmark = [pytest.mark.jack, pytest.mark.slow]

SR = 44_100
LATENCY_BUDGET_MS = 25.0       # asserted per hit on a busy CI box; bench_capture.py reports p50/p95


class Player:
    """JACK client that plays a buffer into the engine's input port from the next cycle on."""

    def __init__(self, server: str):
        import jack
        self.client = jack.Client("capture_player", servername=server, no_start_server=True)
        self.port = self.client.outports.register("out")
        self.buf = np.zeros(0, np.float32)
        self.pos = 0
        self.start_frame = -1
        self.gaps = 0          # cycles this client missed while playing (a hole in the input)
        self._last = -1
        self.go = threading.Event()
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(lambda d: setattr(self, "gaps", self.gaps + 1))

    def _process(self, frames):
        out = self.port.get_array()
        if not self.go.is_set() or self.pos >= self.buf.size:
            out.fill(0.0)
            return
        t = self.client.last_frame_time
        if self.start_frame < 0:
            self.start_frame = t
        elif t != self._last + frames:
            self.gaps += 1
        self._last = t
        # indexed by JACK frame time: a cycle lost to an xrun skips its samples instead of
        # shifting every later onset (buffer sample i plays at frame start_frame + i)
        i = self.client.last_frame_time - self.start_frame
        n = max(0, min(frames, self.buf.size - i))
        out[:n] = self.buf[i:i + n]
        out[n:] = 0.0
        self.pos = i + frames

    def connect(self, dst: str | None = None):
        """To the engine's first input port (PortAudio's client name may carry a suffix)."""
        self.client.activate()
        if dst is None:
            ins = [p.name for p in self.client.get_ports(is_input=True, is_audio=True)
                   if p.name.startswith("PortAudio")]
            assert ins, f"engine input port not found: {[p.name for p in self.client.get_ports()]}"
            dst = ins[0]
        for src in self.client.get_all_connections(dst):      # the dummy's capture port: ours instead
            self.client.disconnect(src, dst)
        self.client.connect(self.port, dst)

    def play_wav(self, path, timeout: float = 30.0) -> int:
        x, sr = sf.read(str(path), dtype="float32")
        assert sr == SR
        self.go.clear()
        self.buf, self.pos, self.start_frame = x, 0, -1
        self.go.set()
        t_end = time.monotonic() + x.size / SR + timeout
        while self.pos < self.buf.size and time.monotonic() < t_end:
            time.sleep(0.01)
        assert self.pos >= self.buf.size, "player did not finish"
        return self.start_frame

    def close(self):
        self.client.deactivate()
        self.client.close()


class Recorder:
    def __init__(self, server: str, seconds: float):
        import jack
        self.client = jack.Client("capture_rec", servername=server, no_start_server=True)
        self.port = self.client.inports.register("in")
        self.buf = np.zeros(int(seconds * SR), np.float32)
        self.n = 0
        self.start_frame = -1
        self.xruns = 0
        self.on = threading.Event()
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(lambda d: setattr(self, "xruns", self.xruns + 1))

    def _process(self, frames):
        if not self.on.is_set():
            return
        t = self.client.last_frame_time
        if self.start_frame < 0:
            self.start_frame = t
        elif t != self._last + frames:
            self.gaps += 1
        self._last = t
        i = self.client.last_frame_time - self.start_frame      # by frame time, as the player
        if i + frames <= self.buf.size:
            self.buf[i:i + frames] = self.port.get_array()
            self.n = i + frames

    def connect(self, src: str | None = None):
        self.client.activate()
        if src is None:
            outs = [p.name for p in self.client.get_ports(is_output=True, is_audio=True)
                    if p.name.startswith("PortAudio")]
            assert outs, f"engine output port not found: {[p.name for p in self.client.get_ports()]}"
            src = outs[0]
        self.client.connect(src, self.port)

    def close(self):
        self.client.deactivate()
        self.client.close()


@pytest.fixture(scope="module")
def rig(jack_server, tmp_path_factory):
    import torch
    from liveinstrument.modelio import save_model
    from liveinstrument.nets.encoder import Encoder, EncoderConfig
    from liveinstrument.nets.generator import Generator, GeneratorConfig
    models = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    gcfg, ecfg = GeneratorConfig(), EncoderConfig()
    save_model(Generator(gcfg), models / "generator.safetensors", gcfg.to_dict())
    save_model(Encoder(ecfg).eval(), models / "encoder.safetensors", ecfg.to_dict())
    from liveinstrument.capture import Capture
    from liveinstrument.engine.audio_out import AudioOut
    from liveinstrument.engine.instrument import Instrument
    inst = Instrument(n_pads=4, models_dir=models, seed=3)
    for p in range(1, 5):
        inst.set_param(p, "round_robin", 0.0)
    assert inst.wait_ready(90.0)
    assert inst.renderer.has_encoder
    cap = Capture(inst, beatbox=True, class_pads=(1, 2, 3), decision_ms=6.0)
    out = AudioOut(inst, blocksize=128, input_sink=cap.ring)
    out.start()
    cap.start()
    player = Player(jack_server.name)
    player.connect()
    try:
        yield inst, cap, out, player, jack_server
    finally:
        player.close()
        cap.stop()
        out.stop()
        inst.close()


# 0.85 s apart: the default kit's kick is tuned down and rings ~0.65 s, and the latency check
# below needs silence before each onset.
def _write_input(path, labels, spacing_s=0.85, level_db=-9.0, seed=0):
    from liveinstrument.capture.vocal_synth import make_recording
    rec = make_recording(np.random.default_rng(seed), labels=labels, ioi_s=(spacing_s, spacing_s),
                         level_db=(level_db - 3, level_db + 3), noise_db=-70, hum_db=None, dc=0.0,
                         lead_s=0.3, tail_s=0.7)
    sf.write(str(path), rec.audio, SR, subtype="FLOAT")
    return rec


def test_beatbox_hits_follow_input_onsets(rig, tmp_path):
    inst, cap, out, player, srv = rig
    labels = ["kick", "snare", "cymbal", "cymbal", "kick", "snare"]
    rec_in = _write_input(tmp_path / "beatbox.wav", labels)
    # A take during which JACK reported an xrun, or the test's own Python player missed a cycle
    # (a hole punched into the input reads as an extra onset), is replayed; an undisturbed take
    # must pass as it is. All takes disturbed: the machine was too loaded to judge.
    for take in range(5):
        n0, hits0, log0 = cap.counters["beatbox_hits"], inst.mixer.hits, len(cap.log)
        gaps0 = player.gaps
        rec = Recorder(srv.name, rec_in.audio.size / SR + 1.5)
        try:
            rec.connect()
            rec.on.set()
            time.sleep(0.1)
            f0 = player.play_wav(tmp_path / "beatbox.wav")
            time.sleep(0.4)
            rec.on.clear()
            disturbed = rec.xruns > 0 or player.gaps > gaps0
            if disturbed:
                print(f"take {take}: disturbed (xruns {rec.xruns}, player gaps {player.gaps - gaps0}); replaying")
                time.sleep(1.0)
                continue
            _check_beatbox_take(inst, cap, rec, f0, rec_in, labels, n0, hits0, log0)
            return
        finally:
            rec.close()
    pytest.fail("every take was disturbed by xruns or missed player cycles: the machine was too loaded")


def _check_beatbox_take(inst, cap, rec, f0, rec_in, labels, n0, hits0, log0) -> None:
    y = rec.buf[:rec.n]
    entries = list(cap.log)[log0:]
    assert cap.counters["beatbox_hits"] - n0 == len(labels), entries
    assert inst.mixer.hits - hits0 == len(labels)
    assert [e["class"] for e in entries] == labels          # which pad: the class asked for
    assert [e["pad"] for e in entries] == [{"kick": 1, "snare": 2, "cymbal": 3}[c] for c in labels]
    # detected onsets line up with the WAV's onsets (+-10 ms) relative to the first one
    rel = np.array([e["onset"] for e in entries]) - entries[0]["onset"]
    assert np.all(np.abs(rel - (rec_in.onsets - rec_in.onsets[0])) <= 441), rel
    # a drum sounds at each input onset, within the budget (the output is silent between hits)
    lat = []
    for o in rec_in.onsets:
        k = f0 + int(o) - rec.start_frame
        assert k > 0 and np.all(y[max(0, k - 2000):k] == 0.0), "output not silent before the onset"
        nz = np.flatnonzero(y[k:k + SR // 4])
        assert nz.size, f"no drum after input onset at {o}"
        lat.append(nz[0] * 1000 / SR)
    print("onset -> drum latency ms:", np.round(lat, 2), [round(e["decision_delay_ms"], 2) for e in entries])
    assert max(lat) <= LATENCY_BUDGET_MS, lat
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0


def test_analyze_to_pad_from_input(rig, tmp_path):
    """Arm pad 4 (as /drumgan/pad/4/capture does), play one hit: pad 4 takes E's (z, c)."""
    inst, cap, out, player, srv = rig
    from liveinstrument.engine.state import load_captured, load_kit
    z_before = inst.pads[3].z_center.copy()
    gen_before = inst.generation(4)
    n_an = inst.counters.get("analyses", 0)
    inst.action(4, "capture")
    assert inst.capture_armed == 4
    _write_input(tmp_path / "one.wav", ["snare", "kick"], spacing_s=0.3, seed=5)
    player.play_wav(tmp_path / "one.wav")
    t_end = time.monotonic() + 30
    while inst.counters.get("analyses", 0) == n_an and time.monotonic() < t_end:
        time.sleep(0.05)
    assert inst.counters.get("analyses", 0) == n_an + 1, inst.counters
    assert inst.capture_armed is None
    assert not np.allclose(inst.pads[3].z_center, z_before)
    assert inst.wait_ready(30.0, pads=[4]) and inst.generation(4) > gen_before
    kept = inst.captured[3]
    # the window ran from the snare's onset to the next onset (0.3 s), not a full N_SAMPLES
    assert 0.25 * SR < kept.size < 0.35 * SR, kept.size
    kit = inst.save_kit(tmp_path / "kit.yaml")
    assert len(list((tmp_path / "kit_audio").glob("capture04-*.wav"))) == 1  # content-named (atomic saves)
    _, _, _, doc = load_kit(kit)
    assert load_captured(kit, doc)[3].size == kept.size


def test_silence_dc_clipping_long_sound_do_not_stall(rig, tmp_path):
    inst, cap, out, player, srv = rig
    t = np.arange(int(1.2 * SR)) / SR
    parts = [np.zeros(int(0.5 * SR)),                                   # digital silence
             np.full(int(0.8 * SR), 0.4),                               # DC offset (a step, then flat)
             np.clip(3.0 * np.sin(2 * np.pi * 220 * t), -1, 1),         # clipped, long
             0.3 * np.random.default_rng(1).standard_normal(int(2.0 * SR)),  # a very long noise
             np.zeros(int(0.3 * SR))]
    sf.write(str(tmp_path / "bad.wav"), np.concatenate(parts).astype(np.float32), SR, subtype="FLOAT")
    on0, cb0, clips0 = cap.counters["onsets"], out.stats()["callbacks"], cap.clips
    player.play_wav(tmp_path / "bad.wav")
    time.sleep(0.2)
    assert cap._thread.is_alive() and cap.counters["analysis_errors"] == 0
    assert cap.ring.written() - cap.r < 4096, "analysis fell behind"
    assert cap.clips > clips0 and cap.meter()["clipping"]
    assert cap.counters["onsets"] - on0 <= 4, cap.counters          # DC step, sine, noise: no bursts
    assert out.stats()["callbacks"] - cb0 > 4.0 * SR / 128 * 0.9   # the stream kept running
