"""Renderer process: coalescing of parameter floods, newest value wins, old sound plays meanwhile."""
from __future__ import annotations

import time

import numpy as np
import pytest

from liveinstrument.engine.audio_out import NullOut
from liveinstrument.engine.instrument import Instrument


def test_param_flood_coalesces_and_newest_wins():
    with Instrument(n_pads=2, random_model=0, seed=4) as inst, NullOut(inst):
        inst.set_param(0, "round_robin", 0.0)       # main sounds only: counts are easy to read
        assert inst.wait_ready(60)
        # wait_ready means "in the ring"; the mixer adopts it on its next block (NullOut's thread)
        t_end = time.monotonic() + 5.0
        while not inst.mixer.ready(0) and time.monotonic() < t_end:
            time.sleep(0.005)
        assert inst.mixer.ready(0)
        before = inst.renderer.stats()["generated"]
        values = np.linspace(0.0, 1.0, 200)
        for v in values:                             # a CC flood, faster than any render
            inst.set_param(1, "snare", float(v))
        newest = inst._want_version[0]
        # meanwhile the pad still has its old, complete sound
        assert inst.mixer.ready(0)
        assert inst.wait_ready(30)
        time.sleep(0.05)
        st = inst.renderer.stats()
        assert inst.generation(1) == newest
        assert st["generated"] - before < 50, f"{st['generated'] - before} renders for 200 changes"
        assert inst.pads[0].snare == 1.0


# ---------------------------------------------------------------- fast inference path and preemption
import torch  # noqa: E402

from liveinstrument.engine.renderer import RenderCore, RenderRequest, default_threads  # noqa: E402
from liveinstrument.engine.shm_ring import Ring, RingLayout  # noqa: E402
from liveinstrument.nets.generator import Generator, GeneratorConfig, _upsample_int  # noqa: E402


def test_integer_upsample_equals_nearest_interpolate():
    x = torch.randn(2, 3, 16, 3)
    for size in ((32, 6), (64, 3), (16, 3)):
        assert torch.equal(_upsample_int(x, size), torch.nn.functional.interpolate(x, size=size, mode="nearest"))


@pytest.mark.parametrize("scale,fade", [(5, 1.0), (3, 0.4), (0, 1.0)])
def test_inference_plan_matches_forward_in_float32(scale, fade):
    torch.manual_seed(0)
    cfg = GeneratorConfig()
    if hasattr(cfg, "trained_scale"):           # a generator exported mid progressive growing
        cfg.trained_scale, cfg.fade = scale, fade
    elif scale != 5:
        pytest.skip("GeneratorConfig has no trained_scale")
    g = Generator(cfg).eval()
    z, c = torch.randn(3, 128), torch.softmax(torch.randn(3, 3), 1)
    with torch.inference_mode():
        ref = g(z, c)
        out = g.inference_plan(torch.float32).run(z, c)
    assert out.shape == (3, 2, 1024, 48)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_inference_plan_follows_weight_updates(random_synth):
    z, c = np.zeros((1, 128), np.float32), np.full((1, 3), 1 / 3, np.float32)
    a = random_synth.generate(z, c)
    p = next(random_synth.generator.parameters())
    saved = p.detach().clone()
    try:
        with torch.no_grad():
            p.mul_(1.5)                         # bumps the tensor version: the plan is rebuilt
        assert not np.allclose(random_synth.generate(z, c), a)
    finally:
        with torch.no_grad():
            p.copy_(saved)
    np.testing.assert_allclose(random_synth.generate(z, c), a, atol=1e-6)


def test_generate_abort_returns_none_and_leaves_no_state(random_synth):
    z, c = np.random.default_rng(0).standard_normal((1, 128)).astype(np.float32), np.full((1, 3), 1 / 3, np.float32)
    calls = []
    assert random_synth.generate(z, c, abort=lambda: calls.append(1) or len(calls) >= 3) is None
    assert len(calls) == 3                       # polled between blocks, stopped at the first true
    np.testing.assert_array_equal(random_synth.generate(z, c, abort=lambda: False), random_synth.generate(z, c))


def test_background_render_is_preempted_main_sound_is_not(random_synth):
    ring = Ring.create(RingLayout(n_pads=2, n_slots=4, n_bufs=16, buf_len=30_000), shared=False)
    core = RenderCore(random_synth, ring, 44_100)
    core.interrupt = lambda: True                # a newer request is always "waiting"
    z = np.random.default_rng(1).standard_normal(128).astype(np.float32)
    core.handle(RenderRequest(pad=0, version=1, z=z, c=np.array([1, 0, 0], np.float32), round_robin=0.3))
    assert core.step() == 1                      # the main sound renders despite the interrupt
    assert ring.hdr[0, 1] == 1 and core.n_generated == 1
    assert core.step() == 0 and core.n_preempted == 1   # a variation yields
    assert core.todo[0] == {1, 2, 3}             # ... and stays queued
    core.interrupt = None
    core.run_until_idle()
    assert not core.has_work() and core.n_generated == 4
    assert core.rr_batch == 1                    # CPU: one variation per generator call
    ring.close()


def test_default_renderer_threads():
    assert default_threads(1) == 1 and default_threads(2) == 1
    assert default_threads(4) == 3 and default_threads(64) == 8
