"""The signal definition (liveinstrument/signal.py) and the audio front end (audio_io.py).

Known answers only: exact invertibility of G's spectrum representation, where
fit_one_shot puts the onset, what the encoder's floor does to known levels, and
that files at any rate / channel count / container load as the same 44.1 kHz
mono sound. Bad files must fail with AudioFileError and a one-line reason.
"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from liveinstrument import signal as S
from liveinstrument.audio_io import (AudioFileError, iter_audio_files, load_audio, load_one_shot,
                                     write_wav)
from model_fixtures import at_rate, drum, write_audio

T = np.arange(S.N_SAMPLES) / S.SAMPLE_RATE


def decaying_sine(f: float = 220.0, decay: float = 8.0) -> np.ndarray:
    return (np.sin(2 * np.pi * f * T) * np.exp(-T * decay)).astype(np.float32)


def noise_burst(seed: int = 0, decay: float = 30.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(S.N_SAMPLES) * np.exp(-T * decay)).astype(np.float32)


def lowpass(x: np.ndarray, hz: float = 18_000.0) -> np.ndarray:
    import scipy.signal as ss
    sos = ss.butter(8, hz, fs=S.SAMPLE_RATE, output="sos")
    return ss.sosfiltfilt(sos, x).astype(np.float32)


# ------------------------------------------------------------------ constants
def test_geometry_constants():
    assert S.SAMPLE_RATE == 44_100 and S.N_SAMPLES == 24_255
    assert (S.N_FFT, S.HOP, S.N_BINS, S.N_FRAMES) == (2048, 512, 1024, 48)
    assert S.FADE_OUT == 882 and S.CLASSES == ("kick", "snare", "cymbal")


# ------------------------------------------------------------------ G's spectrum representation
def test_model_spec_shape_and_batch_dims():
    a = torch.from_numpy(np.stack([decaying_sine(), noise_burst(), np.zeros(S.N_SAMPLES, np.float32)]))
    spec = S.to_model_spec(a)
    assert spec.shape == (3, 2, 1024, 48) and spec.dtype == torch.float32
    assert torch.isfinite(spec).all()
    assert spec[2].abs().max() < 1e-3  # silence stays (numerically) silent
    assert S.from_model_spec(spec).shape == (3, S.N_SAMPLES)
    assert S.stft(a).shape == (3, 1024, 48) and S.stft(a).is_complex()


@pytest.mark.parametrize("make, tol", [
    (decaying_sine, 1e-4),                       # a tonal decay: no Nyquist content at all
    (lambda: lowpass(noise_burst()), 2e-3),      # drum-like noise burst, band-limited below Nyquist
    (lambda: lowpass(drum("snare", 3)), 2e-3),   # a procedural snare (noise + modes)
])
def test_round_trip_is_exact_below_nyquist(make, tol):
    x = torch.from_numpy(make())[None]
    y = S.from_model_spec(S.to_model_spec(x))
    assert (y - x).abs().max().item() < tol * x.abs().max().item()
    rel = ((y - x).pow(2).mean() / x.pow(2).mean()).item()
    assert rel < 1e-6


def test_round_trip_loses_only_nyquist_content():
    x = torch.from_numpy(noise_burst())[None]  # white: has energy up to and at Nyquist
    y = S.from_model_spec(S.to_model_spec(x))
    rel = ((y - x).pow(2).mean() / x.pow(2).mean()).item()
    assert 0 < rel < 5e-3  # the dropped bin is 1 of 1025
    # A pure Nyquist tone is what the representation drops: only the Hann window's
    # leakage into bin 1023 survives (a third of the amplitude).
    nyq = torch.from_numpy(((-1.0) ** np.arange(S.N_SAMPLES)).astype(np.float32))[None]
    y = S.from_model_spec(S.to_model_spec(nyq))
    assert y[0, 4096:-4096].abs().max().item() < 0.34


def test_model_spec_is_compressed_and_demodulated_stft():
    x = torch.from_numpy(decaying_sine(1000.0))[None]
    spec = S.to_model_spec(x)
    mag = spec.pow(2).sum(dim=1).sqrt()
    expected = (S.stft(x).abs() / S.SPEC_SCALE).pow(S.COMPRESS) * S.MODEL_GAIN
    torch.testing.assert_close(mag, expected, rtol=1e-4, atol=1e-6)


def test_demodulation_makes_a_steady_partial_phase_constant():
    k = 101  # a bin-centred partial: its raw STFT phase turns a quarter turn per frame
    x = torch.from_numpy(np.sin(2 * np.pi * k * S.SAMPLE_RATE / S.N_FFT * T).astype(np.float32))[None]
    raw = S.stft(x)[0, k, 2:-2]
    spec = S.to_model_spec(x)[0, :, k, 2:-2]
    demod = torch.atan2(spec[1], spec[0])
    assert torch.diff(torch.angle(raw)).abs().max() > 1.0          # raw phase moves
    assert (torch.remainder(demod - demod[0] + np.pi, 2 * np.pi) - np.pi).abs().max() < 1e-3


# ------------------------------------------------------------------ one-shot shaping
def test_fit_one_shot_trims_leading_silence_and_places_onset():
    hit = np.cos(2 * np.pi * 180.0 * T).astype(np.float32) * np.exp(-T * 10).astype(np.float32)  # starts at 1.0
    x = np.concatenate([np.zeros(3000, np.float32), 1e-4 * np.ones(200, np.float32), hit])
    out = S.fit_one_shot(x)
    assert out.shape == (S.N_SAMPLES,) and out.dtype == np.float32
    assert S.find_onset(out) == S.FADE_IN            # the onset lands just after the pre-roll
    assert out[S.FADE_IN] == pytest.approx(1.0)       # not attenuated by the fade-in
    assert out[0] == 0.0                              # fade-in starts from zero
    assert abs(out[-1]) < 1e-6                        # fade-out ends at zero
    assert np.abs(out[-S.FADE_OUT // 4:]).max() < np.abs(out[-S.FADE_OUT - 100:-S.FADE_OUT]).max()


def test_fit_one_shot_length_and_no_trim():
    short = np.ones(1000, np.float32)
    out = S.fit_one_shot(short)
    assert out.shape == (S.N_SAMPLES,) and np.all(out[1000:] == 0)   # zero-padded
    long = np.ones(3 * S.N_SAMPLES, np.float32)
    assert S.fit_one_shot(long).shape == (S.N_SAMPLES,)              # cut
    np.testing.assert_allclose(S.fit_one_shot(long), S.fade_window())
    late = np.concatenate([np.zeros(500, np.float32), np.ones(100, np.float32)])
    assert S.find_onset(S.fit_one_shot(late, trim=False)) == 500     # trim=False keeps the silence
    assert np.all(S.fit_one_shot(np.zeros(10, np.float32)) == 0)     # silence in, silence out


def test_fade_window_and_peak_normalize():
    w = S.fade_window()
    assert w.shape == (S.N_SAMPLES,) and w[0] == 0 and w[S.FADE_IN] == 1 and w[-1] == pytest.approx(0, abs=1e-7)
    assert np.all(np.diff(w[:S.FADE_IN + 1]) > 0) and np.all(np.diff(w[-S.FADE_OUT:]) <= 1e-7)
    x = np.stack([0.25 * decaying_sine(), np.zeros(S.N_SAMPLES, np.float32)])
    y = S.peak_normalize(x)
    assert np.abs(y[0]).max() == pytest.approx(1.0) and np.all(y[1] == 0)


# ------------------------------------------------------------------ sliders -> soft classes
@pytest.mark.parametrize("sliders, expected", [
    ([1, 0, 0], [1, 0, 0]),
    ([0.5, 0.5, 0], [0.5, 0.5, 0]),
    ([1, 1, 1], [1 / 3] * 3),
    ([0, 0, 0], [1 / 3] * 3),                       # all-zero -> uniform
    ([np.nan, np.nan, np.nan], [1 / 3] * 3),        # non-finite -> uniform
    ([np.nan, 1, 0], [0, 1, 0]),                    # NaN counts as 0
    ([2.0, -1.0, 0.0], [1, 0, 0]),                  # clipped to [0, 1]
    ([np.inf, 1, -np.inf], [0.5, 0.5, 0]),          # +inf -> 1, -inf -> 0
    ([0.2, 0.2, 0.0], [0.5, 0.5, 0]),               # normalised, not clipped-then-kept
])
def test_sliders_to_classes(sliders, expected):
    c = S.sliders_to_classes(sliders)
    assert c.dtype == np.float32 and c.shape == (3,)
    np.testing.assert_allclose(c, expected, atol=1e-6)
    assert c.sum() == pytest.approx(1.0, abs=1e-6)


def test_sliders_to_classes_batched():
    rng = np.random.default_rng(0)
    s = rng.uniform(-0.5, 1.5, (4, 5, 3))
    s[0, 0] = 0
    c = S.sliders_to_classes(s)
    assert c.shape == (4, 5, 3) and np.all(c >= 0) and np.all(c <= 1)
    np.testing.assert_allclose(c.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(c[0, 0], 1 / 3, atol=1e-6)


# ------------------------------------------------------------------ encoder and classifier inputs
def test_encoder_input_range_and_floor_known_levels():
    mag = torch.ones(1, 1024, 48) * 1e-6
    mag[0, 10, 5] = 2.0                     # the loudest bin -> 1
    mag[0, 20, 5] = 2.0 * 10 ** (-0.75)     # -15 dB below it -> halfway to the floor
    mag[0, 30, 5] = 2.0 * 10 ** (-1.5)      # exactly -30 dB -> 0
    mag[0, 40, 5] = 2.0 * 10 ** (-3)        # -60 dB -> floored at 0
    x = S.encoder_input_from_mag(mag)
    assert x.shape == (1, 1, 1024, 48)
    assert x[0, 0, 10, 5].item() == pytest.approx(1.0)
    assert x[0, 0, 20, 5].item() == pytest.approx(0.5, abs=1e-4)
    assert x[0, 0, 30, 5].item() == pytest.approx(0.0, abs=1e-4)
    assert x[0, 0, 40, 5].item() == 0.0 and x.min().item() == 0.0


def test_encoder_input_floor_is_a_parameter():
    mag = torch.ones(1, 1024, 48) * 1e-6
    mag[0, 10, 5] = 1.0
    mag[0, 20, 5] = 10 ** (-2.0)            # -40 dB: below the default floor, halfway to a -80 dB one
    assert S.encoder_input_from_mag(mag)[0, 0, 20, 5].item() == 0.0
    assert S.encoder_input_from_mag(mag, -4.0)[0, 0, 20, 5].item() == pytest.approx(0.5, abs=1e-4)


def test_encoder_input_on_audio_is_level_free():
    a = torch.from_numpy(np.stack([drum("kick", 1), drum("cymbal", 2)]))
    x = S.encoder_input(a)
    assert x.shape == (2, 1, 1024, 48)
    assert x.min().item() >= 0.0 and x.max().item() <= 1.0
    assert torch.allclose(x.flatten(1).amax(1), torch.ones(2))
    torch.testing.assert_close(S.encoder_input(0.01 * a), x, atol=1e-4, rtol=0)  # relative to own peak
    # the floor removes what is more than 30 dB below the peak bin: plenty of zeros
    assert (x == 0).float().mean().item() > 0.1


def test_log_mel_shape_and_floor():
    a = torch.from_numpy(np.stack([drum("snare", 4), np.zeros(S.N_SAMPLES, np.float32)]))
    m = S.log_mel(a)
    assert m.shape == (2, 1, S.N_MELS, S.N_FRAMES) and torch.isfinite(m).all()
    assert m[1].max().item() == pytest.approx(-2.0)   # silence sits on the -100 dB floor
    assert m[0].max().item() > m[1].max().item() + 1
    assert S.log_mel(a, n_mels=64).shape == (2, 1, 64, 48)
    fb = S.mel_filterbank()
    assert fb.shape == (128, 1025) and fb.min() >= 0 and np.all(fb.sum(1) > 0)


def test_log_magnitude_relative_to_peak():
    lm = S.log_magnitude(torch.from_numpy(decaying_sine())[None])
    assert lm.shape == (1, 1024, 48)
    assert lm.max().item() == pytest.approx(0.0, abs=1e-4) and lm.min().item() >= -80.0


# ------------------------------------------------------------------ audio_io: any file in
def _tone(sr: int, seconds: float = 0.3, f: float = 1000.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, sr: int = S.SAMPLE_RATE) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


@pytest.mark.parametrize("name, sr, channels, kw", [
    ("stereo48k.wav", 48_000, 2, {}),
    ("stereo96k.wav", 96_000, 2, {"subtype": "PCM_24"}),
    ("mono22k.wav", 22_050, 1, {}),
    ("stereo44k.flac", 44_100, 2, {}),
    ("quad48k.flac", 48_000, 4, {}),
    ("stereo48k.aiff", 48_000, 2, {}),
    ("mono32k.aif", 32_000, 1, {"format": "AIFF", "subtype": "PCM_16"}),
    ("float.wav", 44_100, 1, {"subtype": "FLOAT"}),
])
def test_load_audio_any_rate_channels_container(tmp_path, name, sr, channels, kw):
    x = _tone(sr)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    p = write_audio(tmp_path / name, data, sr, **kw)
    y, rate = load_audio(p)
    assert rate == sr and y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - len(x) * S.SAMPLE_RATE / sr) <= 1          # length scales with the rate
    assert _peak_hz(y) == pytest.approx(1000.0, abs=5)             # same pitch after resampling
    mid = y[len(y) // 4: -len(y) // 4]
    assert np.abs(mid).max() == pytest.approx(0.5, rel=0.02)       # downmix keeps the level


def test_load_audio_downmix_averages_channels(tmp_path):
    x = _tone(44_100)
    p = write_audio(tmp_path / "lr.wav", np.stack([x, np.zeros_like(x)], 1), subtype="FLOAT")
    y, _ = load_audio(p)
    np.testing.assert_allclose(y, 0.5 * x, atol=1e-6)


def test_load_audio_same_sound_at_any_rate(tmp_path):
    hit = drum("snare", 7)
    ref, _ = load_audio(write_audio(tmp_path / "ref.wav", hit, subtype="FLOAT"))
    for sr in (22_050, 48_000, 96_000):
        y, _ = load_audio(write_audio(tmp_path / f"s{sr}.wav", at_rate(hit, sr), sr, subtype="FLOAT"))
        n = min(len(y), len(ref))
        err = np.sqrt(np.mean((lowpass(y[:n], 10_000) - lowpass(ref[:n], 10_000)) ** 2))
        assert err < 0.02, sr


def _bad_files(tmp_path):
    (tmp_path / "folder.wav").mkdir()
    (tmp_path / "x.wav").write_text("this is not audio\n")
    sf.write(str(tmp_path / "empty.wav"), np.zeros((0, 1), np.float32), 44_100)
    (tmp_path / "truncated.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    return {"missing.wav": "no such file", "folder.wav": "is a directory",
            "x.wav": "not a readable audio file", "empty.wav": "no audio frames",
            "truncated.wav": "not a readable audio file"}


def test_load_audio_errors_are_clear_one_liners(tmp_path):
    for name, why in _bad_files(tmp_path).items():
        with pytest.raises(AudioFileError) as info:
            load_audio(tmp_path / name)
        msg = str(info.value)
        assert why in msg and name in msg and "\n" not in msg, msg
        assert isinstance(info.value, ValueError)


def test_load_audio_replaces_non_finite_samples(tmp_path):
    x = _tone(44_100)
    x[100] = np.nan
    x[200] = np.inf
    y, _ = load_audio(write_audio(tmp_path / "nan.wav", x, subtype="FLOAT"))
    assert np.isfinite(y).all() and y[100] == 0


def test_load_one_shot(tmp_path):
    hit = drum("kick", 2)
    x = np.concatenate([np.zeros(4410, np.float32), 0.3 * at_rate(hit, 48_000)])
    shot = load_one_shot(write_audio(tmp_path / "late48k.wav", np.stack([x, x], 1), 48_000))
    assert shot.shape == (S.N_SAMPLES,) and shot.dtype == np.float32
    assert np.abs(shot).max() == pytest.approx(1.0)
    assert S.find_onset(shot) <= 2 * S.FADE_IN            # leading silence trimmed
    silent = write_audio(tmp_path / "silent.wav", np.zeros(20_000, np.float32))
    with pytest.raises(AudioFileError, match="silent"):
        load_one_shot(silent)
    hiss = write_audio(tmp_path / "hiss.wav", 1e-5 * np.ones(20_000, np.float32), subtype="FLOAT")
    with pytest.raises(AudioFileError, match="silent"):   # -100 dBFS is still nothing to analyse
        load_one_shot(hiss)


def test_write_wav_round_trip_and_clipping(tmp_path):
    x = np.concatenate([drum("cymbal", 1) * 0.5, [2.0, -3.0, np.nan]]).astype(np.float32)
    write_wav(tmp_path / "sub" / "o.wav", x)
    info = sf.info(str(tmp_path / "sub" / "o.wav"))
    assert info.samplerate == 44_100 and info.channels == 1 and info.subtype == "PCM_24"
    y, _ = load_audio(tmp_path / "sub" / "o.wav")
    np.testing.assert_allclose(y[:-3], x[:-3], atol=1e-6)
    np.testing.assert_allclose(y[-3:], [1.0, -1.0, 0.0], atol=1e-6)


def test_iter_audio_files(tmp_path):
    for rel in ("b/2.WAV", "b/1.flac", "a/x.aiff", "a/notes.txt", "c.ogg"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    got = iter_audio_files([tmp_path, tmp_path / "explicit.wav"])
    names = [p.relative_to(tmp_path).as_posix() for p in got]
    assert names == ["a/x.aiff", "b/1.flac", "b/2.WAV", "c.ogg", "explicit.wav"]


def test_cached_signal_tensors_made_in_inference_mode_still_serve_autograd():
    """classify() runs under inference mode and may be the first to fill the window, mel and
    demodulator caches; the GAN's classifier guidance and E's refinement backpropagate
    through the same transforms later in the process."""
    from liveinstrument import signal as sig

    for cache in (sig._windows, sig._mel_fb, sig._demod):
        cache.clear()
    with torch.inference_mode():
        sig.log_mel(torch.zeros(1, sig.N_SAMPLES))
        sig.to_model_spec(torch.zeros(1, sig.N_SAMPLES))
    spec = torch.randn(1, 2, sig.N_BINS, sig.N_FRAMES, requires_grad=True)
    sig.log_mel(sig.from_model_spec(spec)).sum().backward()
    assert torch.isfinite(spec.grad).all() and spec.grad.abs().sum() > 0
