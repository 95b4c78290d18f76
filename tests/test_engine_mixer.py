"""Mixer (the C core through its Python face) on a ring filled with known signals (no generator)."""
from __future__ import annotations

import numpy as np
import pytest

from liveinstrument.engine.mixer import FADE_LEN, Mixer
from liveinstrument.engine.shm_ring import Ring, RingLayout

SR = 44_100


def make_mixer(sounds: dict[int, np.ndarray], n_pads: int = 4, **kw) -> tuple[Mixer, Ring]:
    ring = Ring.create(RingLayout(n_pads=n_pads, n_slots=2, n_bufs=4, buf_len=8192), shared=False)
    for p, x in sounds.items():
        ring.write_buffer(p, 0, x.astype(np.float32))
        ring.publish(p, [0, 0], n_rr=1, gen=1)
    m = Mixer(ring, SR, **kw)
    for p in range(n_pads):
        m.set_pad_mix(p, 1.0, (1.0, 1.0), 0.0, 0)       # unity gain both sides: easy arithmetic
    return m, ring


def run(m: Mixer, n_blocks: int, block: int = 128) -> np.ndarray:
    out = np.zeros((n_blocks * block, 2), np.float32)
    for b in range(n_blocks):
        m.process(block, out[b * block:(b + 1) * block])
    return out


def test_voices_sum_at_exact_sample_offsets():
    rng = np.random.default_rng(1)
    a = rng.uniform(-0.1, 0.1, 300).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, 200).astype(np.float32)
    m, _ = make_mixer({0: a, 1: b}, velocity_curve=1.0)
    m.schedule(0, 1.0, 5)
    m.schedule(1, 0.5, 77)
    out = run(m, 4)
    want = np.zeros(512, np.float32)
    want[5:305] += a
    want[77:277] += 0.5 * b
    np.testing.assert_allclose(out[:, 0], want, atol=1e-6)
    np.testing.assert_allclose(out[:, 1], want, atol=1e-6)


def test_hit_in_a_later_block_starts_at_its_offset():
    x = np.full(100, 0.25, np.float32)
    m, _ = make_mixer({0: x})
    run(m, 2)
    m.schedule(0, 1.0, 93)
    out = run(m, 1)
    assert np.all(out[:93] == 0.0) and np.all(out[93:, 0] > 0.2)


@pytest.mark.parametrize("curve", [1.0, 2.0])
def test_velocity_scales_gain(curve):
    x = np.full(64, 0.5, np.float32)
    m, _ = make_mixer({0: x}, velocity_curve=curve)
    m.schedule(0, 1.0, 0)
    loud = run(m, 1)[:64, 0].copy()
    m.schedule(0, 0.5, 0)
    soft = run(m, 1)[:64, 0]
    np.testing.assert_allclose(soft / loud, 0.5 ** curve, rtol=1e-5)


def test_choke_group_cuts_open_hat_with_short_fade_no_click():
    t = np.arange(8000) / SR
    hat = (0.5 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)  # long, loud "open hat"
    closed = np.zeros(2000, np.float32)                             # silent closed hat: isolates the fade
    m, _ = make_mixer({2: closed, 3: hat})
    m.set_pad_mix(2, 1.0, (1.0, 1.0), 0.0, 1)
    m.set_pad_mix(3, 1.0, (1.0, 1.0), 0.0, 1)
    m.schedule(3, 1.0, 0)
    out1 = run(m, 2)
    m.schedule(2, 1.0, 40)   # closed hat at sample 256 + 40
    out2 = run(m, 3)
    y = np.concatenate([out1[:, 0], out2[:, 0]])
    cut = 256 + 40
    np.testing.assert_allclose(y[:cut], hat[:cut], atol=1e-6)       # untouched before the choke
    assert np.all(y[cut + FADE_LEN:] == 0.0)                         # gone after the fade
    assert m.chokes == 1
    # no click: the fade never makes a step larger than the sine's own largest step
    max_step = np.max(np.abs(np.diff(hat)))
    assert np.max(np.abs(np.diff(y))) <= max_step + 1e-6


def test_voice_stealing_at_max_polyphony():
    x = np.full(8000, 0.01, np.float32)
    m, _ = make_mixer({0: x}, max_voices=4)
    for i in range(6):
        m.schedule(0, 1.0, i * 10)
    run(m, 1)
    assert m.steals == 2
    assert m.sounding_voices() == 4
    run(m, 2)                                   # the stolen ones have faded out by now
    assert m.active_voices() == 4 and m.hard_kills == 0


def test_limiter_never_exceeds_full_scale():
    x = np.full(4000, 0.9, np.float32)
    x[::2] *= -1.0
    m, _ = make_mixer({0: x}, max_voices=32)
    m.set_master(2.0)                             # +6 dB on top of 32 full-scale voices
    for i in range(32):
        m.schedule(0, 1.0, i)
    out = run(m, 20)
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0
    assert np.max(np.abs(out)) > 0.5            # limited, not muted


def test_nan_and_inf_input_give_finite_output():
    x = np.full(1000, 0.3, np.float32)
    x[10] = np.nan
    x[20] = np.inf
    x[30] = -np.inf
    m, _ = make_mixer({0: x, 1: np.full(1000, 0.2, np.float32)})
    m.schedule(0, 1.0, 0)
    m.schedule(1, 1.0, 0)
    out = run(m, 8)
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0
    assert m.nonfinite_blocks >= 1
    m.set_master(float("nan"))                     # even a broken master gain cannot break the output
    m.schedule(1, 1.0, 0)
    out = run(m, 2)
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0


def test_new_map_does_not_cut_a_ringing_voice():
    old = np.full(1000, 0.1, np.float32)
    new = np.full(1000, 0.3, np.float32)
    m, ring = make_mixer({0: old})
    m.schedule(0, 1.0, 0)
    out1 = run(m, 2)
    ring.write_buffer(0, 1, new)                 # renderer: new sound into a free buffer, publish
    ring.publish(0, [1, 1], n_rr=1, gen=2)
    m.schedule(0, 1.0, 0)
    out2 = run(m, 2)
    np.testing.assert_allclose(out1[:, 0], 0.1, atol=1e-6)
    np.testing.assert_allclose(out2[:, 0], 0.4, atol=1e-6)     # old keeps ringing + new hit
    assert ring.busy[0, 0] == 1 and ring.busy[0, 1] == 1
    assert ring.fb[0, 0] == ring.hdr[0, 0]                      # mixer acked the new map


def test_block_larger_than_preallocated_is_split_not_silenced():
    x = np.full(3000, 0.25, np.float32)
    m, _ = make_mixer({0: x}, max_block=256)
    m.schedule(0, 1.0, 700)                     # lands in the third 256-frame piece
    out = np.zeros((1024, 2), np.float32)
    m.process(1024, out)
    assert np.all(out[:700] == 0.0) and np.all(out[700:, 0] > 0.2)
    assert m.split_blocks == 1 and m.frames == 1024


def test_event_for_a_later_sample_time_waits_for_its_block():
    x = np.full(100, 0.25, np.float32)
    m, _ = make_mixer({0: x})
    m.note_on(0, 1.0, at=128 * 3 + 17)         # core clock starts at 0
    out = run(m, 5)
    nz = np.flatnonzero(out[:, 0])
    assert nz[0] == 128 * 3 + 17 and m.late_events == 0
    m.note_on(0, 1.0, at=5)                     # already past: plays at once, counted late
    out = run(m, 1)
    assert out[0, 0] > 0.2 and m.late_events == 1
