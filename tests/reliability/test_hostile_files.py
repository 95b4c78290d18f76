"""Analyze requests naming files a sender must not have read (the real Instrument, synchronous
renderer with an untrained generator): outside the allowed folders, a FIFO, too many at once."""
from __future__ import annotations

import os
import time

from liveinstrument.engine.instrument import Instrument


def test_analyze_refuses_outside_fifo_and_floods(tmp_path, random_synth, caplog) -> None:
    allowed = tmp_path / "samples"
    allowed.mkdir()
    fifo = allowed / "hit.wav"
    os.mkfifo(fifo)
    with Instrument(n_pads=4, synchronous=True, synth=random_synth, allow_dirs=[allowed]) as inst:
        inst.analyze_file(1, "/etc/passwd")
        inst.analyze_file(1, str(allowed / ".." / ".." / "etc" / "shadow"))
        t0 = time.monotonic()
        inst.analyze_file(2, str(fifo))                   # must not open (and park on) the FIFO
        assert time.monotonic() - t0 < 1.0
        assert inst.counters["analyze_refused"] == 3
        msgs = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert any("outside the allowed folders" in m for m in msgs)
        assert any("not a regular file" in m for m in msgs)
        assert all("\n" not in m for m in msgs)


def test_300_character_file_name_is_one_line(tmp_path) -> None:
    import pytest
    from liveinstrument.audio_io import AudioFileError, iter_audio_files, load_audio
    name = str(tmp_path / ("a" * 300 + ".wav"))
    assert [str(p) for p in iter_audio_files([name])] == [name]
    with pytest.raises(AudioFileError) as e:
        load_audio(name)
    assert "too long" in str(e.value) and "\n" not in str(e.value)
