"""One owner per piece of state: the renderer process writes the raw audio it holds (a save
sends file names over the pipe, not megabytes of audio), and the instrument owns capture
arming. Real renderer process with an untrained generator, real files."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import soundfile as sf

from liveinstrument.engine.audio_out import NullOut
from liveinstrument.engine.file_guard import RefusedPath
from liveinstrument.engine.instrument import Instrument
from liveinstrument.engine.state import load_kit

pytestmark = pytest.mark.slow


def test_save_and_export_are_written_by_the_renderer(tmp_path, monkeypatch) -> None:
    with Instrument(n_pads=4, random_model=0, seed=3) as inst, NullOut(inst):
        assert inst.wait_ready(120)
        raw = inst.renderer.raw_audio()                 # what a save used to pull back
        raw_bytes = len(pickle.dumps(raw))
        asked = []
        ask = inst.renderer._ask

        def recording(kind, *args, **kw):               # every question and answer over the pipe
            msg = ask(kind, *args, **kw)
            asked.append((kind, len(pickle.dumps((kind, 0, *args))), len(pickle.dumps(msg))))
            return msg
        monkeypatch.setattr(inst.renderer, "_ask", recording)
        monkeypatch.setattr(inst.renderer, "raw_audio", lambda *a, **k: pytest.fail("the save pulled audio"))
        kit = inst.save_kit(tmp_path / "k" / "kit.yaml")
        wav = inst.export_pad(2, tmp_path / "k" / "pad2.wav")
        # the renderer's own check: it writes nowhere outside the folders it is given
        with pytest.raises(RuntimeError, match="outside"):
            inst.renderer.write_audio(tmp_path / "elsewhere", [tmp_path / "k"])
        with pytest.raises(RefusedPath):
            inst.save_kit(tmp_path / "other" / "kit.yaml", within=[tmp_path / "k"])
    assert [k for k, _, _ in asked] == ["writeaudio", "exportpad", "writeaudio"]
    assert raw_bytes > 4 * 24_255 * 4 and all(q < 1024 and a < 2048 for _, q, a in asked[:2]), (raw_bytes, asked)
    _, _, stored, _ = load_kit(kit)
    assert sorted(stored) == sorted(raw) == [0, 1, 2, 3]
    for p, a in raw.items():   # main sounds (variations may have landed in between)
        np.testing.assert_array_equal(stored[p][0], a[0])
    x, sr = sf.read(wav)
    assert sr == 44_100 and 100 < x.size <= a.shape[1] and np.abs(x).max() > 0.01
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "other").exists()


def test_the_instrument_owns_the_capture_arm(random_synth) -> None:
    """Arming goes through the instrument's action; the audio input takes it with one call
    (read and clear together), and nobody else can set it."""
    with Instrument(n_pads=4, synchronous=True, synth=random_synth) as inst:
        assert inst.capture_armed is None and inst.take_capture_arm() is None
        inst.action(3, "capture")
        assert inst.capture_armed == 3
        with pytest.raises(AttributeError):
            inst.capture_armed = 1              # read-only: the owner's methods change it
        assert inst.take_capture_arm() == 3 and inst.capture_armed is None
        assert inst.take_capture_arm() is None
        marker = object()
        inst.attach_input(marker)
        assert inst.capture is marker
        inst.detach_input(object())             # someone else's input: not ours to drop
        assert inst.capture is marker
        inst.detach_input(marker)
        assert inst.capture is None
