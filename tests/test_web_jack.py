"""The control page in a real headless Chromium, checked on the instrument's recorded JACK output.

One module rig, shared by the tests: a JACK dummy server (conftest ``jack_server``), the real
``Instrument`` with the shipped generator and encoder in its renderer process, its PortAudio
stream on JACK, ``ControlSurfaces`` with a JACK MIDI input (gm-default: CC 20 = kick of the
selected pad), the ``WebServer`` and one Chromium. A JACK client records the instrument's
output ports the whole time; each test marks the JACK frame before it acts and looks for the
result in that recording. Dropping a file: Selenium cannot drag from the desktop, so the test
hands a real file to a file input, wraps it in a ``DataTransfer`` and dispatches a ``drop`` on
the pad: the page's own drop handler and upload path run from there.
"""
from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from web_rig import JackMidiSender, JackRecorder, chromium, open_page, until

pytestmark = [pytest.mark.jack, pytest.mark.slow]

OUT = Path(__file__).resolve().parent.parent / "out"
HIT_S = 0.3            # compared part of a hit


@pytest.fixture(scope="module")
def rig(jack_server, tmp_path_factory):
    drv = chromium()
    if drv is None:
        pytest.skip("chromium-driver not installed (scripts/install-system-deps.sh)")
    from liveinstrument.control.surfaces import ControlSurfaces
    from liveinstrument.engine.audio_out import AudioOut, jack_hostapi
    from liveinstrument.engine.instrument import Instrument
    from liveinstrument.web.server import WebServer
    tmp = tmp_path_factory.mktemp("webjack")
    client = f"drumgan-{uuid.uuid4().hex[:6]}"
    with contextlib.ExitStack() as stack:
        stack.callback(drv.quit)
        assert jack_hostapi() is not None, "PortAudio does not list JACK"
        inst = stack.enter_context(Instrument(n_pads=16, seed=5))         # shipped G + E
        for p in range(1, 17):
            inst.set_param(p, "round_robin", 0.0)   # every hit of a pad the same: differences are the sound's
        assert inst.wait_ready(120.0)
        out = stack.enter_context(AudioOut(inst, blocksize=128))
        cs = stack.enter_context(ControlSurfaces(inst, "gm-default", midi_in="virtual", midi_api="jack",
                                                 osc_port=None, client_name=client,
                                                 jack_server=jack_server.name, learn_path=tmp / "learned.yaml"))
        web = stack.enter_context(WebServer(inst, out, cs, port=0, kit_dir=tmp / "kits"))
        rec = JackRecorder(jack_server.name, 150.0)
        stack.callback(rec.close)
        rec.connect_to()
        open_page(drv, web.url)
        until(lambda: all(int(e) >= 0 for e in drv.execute_script(
            "return [...document.querySelectorAll('.pad')].map(e => e.dataset.gen)")), 20, "pads drawn")
        yield {"inst": inst, "out": out, "cs": cs, "web": web, "drv": drv, "rec": rec,
               "client": client, "tmp": tmp}


def _pad(drv, n: int):
    from selenium.webdriver.common.by import By
    return drv.find_element(By.CSS_SELECTOR, f'.pad[data-pad="{n}"]')


def _strike(rig, n: int, from_top: float = 0.1) -> int:
    """Click pad ``n`` (``from_top`` of its height down: high = loud) once the output is silent;
    the recorded index of the hit's first sample."""
    from selenium.webdriver import ActionChains
    rec, drv = rig["rec"], rig["drv"]
    rec.wait_quiet()
    el = _pad(drv, n)
    dy = int(el.size["height"] * (from_top - 0.5))          # offsets are from the element's centre
    mark = rec.now()
    ActionChains(drv).move_to_element_with_offset(el, 0, dy).click().perform()
    return rec.onset_after(mark)


def _hit(rig, n: int) -> np.ndarray:
    rec = rig["rec"]
    return rec.segment(_strike(rig, n), HIT_S)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation at lag 0 (both start at their onset): 1 = the same waveform."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _log_spectrum_db(x: np.ndarray) -> np.ndarray:
    """Magnitude spectrum in 1/3-octave bands (dB): what the ear compares, not the phase."""
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    f = np.fft.rfftfreq(x.size, 1 / 44_100)
    edges = 40.0 * 2.0 ** (np.arange(0, 28) / 3)          # 40 Hz .. ~20 kHz
    bands = [np.sum(spec[(f >= lo) & (f < hi)] ** 2) for lo, hi in zip(edges[:-1], edges[1:])]
    return 10 * np.log10(np.asarray(bands) + 1e-12)


def _band_distance_db(a: np.ndarray, b: np.ndarray) -> float:
    da, db = _log_spectrum_db(a / np.max(np.abs(a))), _log_spectrum_db(b / np.max(np.abs(b)))
    return float(np.sqrt(np.mean((da - db) ** 2)))


def test_clicking_a_pad_plays_a_hit_on_the_jack_output(rig):
    rec, drv = rig["rec"], rig["drv"]
    before = int(_pad(drv, 1).get_attribute("data-hits"))
    mark = rec.now()
    onset = _strike(rig, 1)
    x = rec.segment(onset, HIT_S)
    assert 0 <= onset - rec.index_of(mark) < rec.rate // 2, "the hit came long after the click"
    assert np.all(np.isfinite(x)) and 0.05 < float(np.max(np.abs(x))) <= 1.0
    until(lambda: int(_pad(drv, 1).get_attribute("data-hits")) > before, 5, "pad flash")
    soft = _hit_at(rig, 1, 0.9)                                # struck low: softer, the same sound
    assert _corr(x, soft) > 0.99
    loud_rms, soft_rms = (float(np.sqrt(np.mean(s ** 2))) for s in (x, soft))
    assert loud_rms > 1.5 * soft_rms > 0, f"strike point not heard as velocity: {loud_rms:.4f} vs {soft_rms:.4f}"


def _hit_at(rig, n: int, from_top: float) -> np.ndarray:
    return rig["rec"].segment(_strike(rig, n, from_top), HIT_S)


def test_kick_slider_changes_state_and_after_the_rerender_the_sound(rig):
    from selenium.webdriver.common.keys import Keys
    inst, drv = rig["inst"], rig["drv"]
    a1, a2 = _hit(rig, 2), _hit(rig, 2)                       # snare pad, selected by the click
    until(lambda: drv.execute_script("return window.drumgan.state.selected") == 2, 5, "pad 2 selected")
    assert inst.state()["pads"][1]["kick"] == 0.0
    gen0 = inst.generation(2)
    drv.find_element("id", "s-kick").send_keys(Keys.END)     # the range input to its top: kick 1.0
    until(lambda: inst.state()["pads"][1]["kick"] == 1.0, 5, "kick 1.0 in the instrument")
    until(lambda: inst.generation(2) > gen0 and inst.wait_ready(1.0, pads=[2]), 20, "pad 2 re-rendered")
    until(lambda: int(_pad(drv, 2).get_attribute("data-gen")) == inst.generation(2), 10, "new sound drawn")
    b = _hit(rig, 2)
    same, changed = _band_distance_db(a1, a2), _band_distance_db(a1, b)
    assert same < 0.5, f"two hits of the unchanged pad differ by {same:.2f} dB"
    assert changed > 3.0 and _corr(a1, b) < 0.9, \
        f"the re-rendered hit barely differs: {changed:.2f} dB, correlation {_corr(a1, b):.3f}"


def test_midi_cc_through_a_jack_port_moves_the_slider_on_the_page(rig):
    inst, drv = rig["inst"], rig["drv"]
    _strike(rig, 3)                                          # pad 3 selected (page and MIDI share it)
    until(lambda: rig["cs"].selection.pad == 3, 5, "pad 3 selected")
    with JackMidiSender(f"{rig['client']}:midi_in") as sender:
        time.sleep(0.2)
        for value in (96, 32):                               # CC 20: kick of the selected pad
            sender.send([0xB0, 20, value])
            want = value / 127
            until(lambda: abs(inst.state()["pads"][2]["kick"] - want) < 0.01, 5, "kick set by MIDI")
            until(lambda: abs(float(drv.execute_script("return document.getElementById('s-kick').value"))
                              - want) < 0.01, 5, f"slider at {want:.3f}")
            shown = drv.execute_script("return document.getElementById('o-kick').textContent")
            assert shown == f"{want:.2f}"


_DROP_JS = """
const [input, pad] = arguments;
const dt = new DataTransfer();
dt.items.add(input.files[0]);
pad.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
pad.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
"""


def test_dropping_a_wav_on_a_pad_analyses_it_into_that_pad(rig):
    from model_fixtures import drum, write_audio
    from liveinstrument import signal as S
    from liveinstrument.engine import dsp
    from liveinstrument.synth import DrumSynth
    inst, drv, rec = rig["inst"], rig["drv"], rig["rec"]
    wav = write_audio(rig["tmp"] / "dropped snare.wav", drum("snare", 11) * 0.7)
    before = _hit(rig, 4)
    old = inst.state()["pads"][3]
    gen0, analyses = inst.generation(4), inst.counters.get("analyses", 0)
    inp = drv.execute_script("const i = document.createElement('input'); i.type = 'file'; i.id = 'test-file';"
                             "document.body.appendChild(i); return i;")
    inp.send_keys(str(wav))
    drv.execute_script(_DROP_JS, inp, _pad(drv, 4))
    until(lambda: "analysed into pad 4" in drv.find_element("id", "msg").text, 10, "upload answered")
    until(lambda: inst.counters.get("analyses", 0) > analyses, 20, "analysis done")
    until(lambda: inst.generation(4) > gen0 and inst.wait_ready(1.0, pads=[4]), 20, "pad 4 re-rendered")
    until(lambda: int(_pad(drv, 4).get_attribute("data-gen")) == inst.generation(4), 10, "new sound drawn")
    new = inst.state()["pads"][3]
    # the pad's classes are the encoder's reading of the file (the same E, here in the test)
    synth = DrumSynth.load(Path(__file__).resolve().parent.parent / "models")
    x = S.peak_normalize(S.fit_one_shot(drum("snare", 11) * 0.7))
    z, c = synth.encode(x[None])
    got = np.array([new["kick"], new["snare"], new["cymbal"]])
    assert np.allclose(got, c[0], atol=0.02), f"pad classes {got} vs E's {c[0]}"
    assert not np.allclose(got, [old["kick"], old["snare"], old["cymbal"]], atol=0.02)
    # what pad 4 now plays is the resynthesis G(E(x)), as the engine shapes every hit
    resynth = synth.generate(z, S.sliders_to_classes(c))[0]
    want = dsp.shape_hit(resynth, 0.0, 1.0, 44_100, dsp.max_hit_len(44_100, S.N_SAMPLES))
    after = _hit(rig, 4)
    n = min(after.size, want.size)
    r_new, r_old = _corr(after[:n], want[:n]), _corr(before[:n], want[:n])
    assert r_new > 0.9, f"pad 4 does not play the resynthesis (correlation {r_new:.3f})"
    assert r_new > r_old + 0.2, f"old sound as close to the resynthesis ({r_old:.3f}) as the new ({r_new:.3f})"
    OUT.mkdir(exist_ok=True)
    drv.save_screenshot(str(OUT / "web_page_jack.png"))     # CI keeps out/: the page after a session
