"""Generator G: progressive growing with replacing and residual (skip) heads, and the frozen
inference plan the live renderer uses, which must match ``forward`` exactly."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from liveinstrument.nets.generator import SCALES, Generator, GeneratorConfig, PRESETS


def _randomised(cfg: GeneratorConfig) -> Generator:
    torch.manual_seed(0)
    g = Generator(cfg)
    with torch.no_grad():
        for head in g.to_spec:
            head.weight.normal_()
            head.bias.normal_(std=0.1)
    return g.eval()


@pytest.mark.parametrize("residual_from", [6, 4, 1])
@pytest.mark.parametrize("scale,fade", [(5, 1.0), (4, 0.3), (3, 1.0), (2, 0.5), (0, 1.0)])
def test_inference_plan_matches_forward(residual_from, scale, fade):
    g = _randomised(GeneratorConfig(residual_from=residual_from, trained_scale=scale, fade=fade))
    z, c = torch.randn(3, 128), torch.softmax(torch.randn(3, 3), 1)
    with torch.no_grad():
        ref = g(z, c)
        got = g.inference_plan().run(z, c)
    assert ref.shape == got.shape == (3, 2, *SCALES[-1])
    assert torch.allclose(ref, got, atol=1e-5)


def test_residual_heads_start_silent_so_a_new_scale_begins_where_the_last_stood():
    g = Generator(PRESETS["compact"])
    assert g.cfg.residual_from == 4
    assert all(float(h.weight.abs().sum()) == 0 for h in g.to_spec[4:])
    assert float(g.to_spec[3].weight.abs().sum()) > 0
    z, c = torch.randn(2, 128), torch.eye(3)[:2]
    with torch.no_grad():
        base = F.interpolate(g(z, c, scale=3), size=SCALES[5], mode="nearest")
        for scale in (4, 5):
            for alpha in (0.2, 1.0):
                up = F.interpolate(g(z, c, scale=scale, alpha=alpha), size=SCALES[5], mode="nearest")
                assert torch.equal(up, base)


def test_residual_head_adds_detail_scaled_by_the_fade():
    g = _randomised(GeneratorConfig(residual_from=4))
    z, c = torch.randn(2, 128), torch.eye(3)[:2]
    with torch.no_grad():
        base = F.interpolate(g(z, c, scale=3), size=SCALES[4], mode="nearest")
        half = g(z, c, scale=4, alpha=0.5) - base
        full = g(z, c, scale=4, alpha=1.0) - base
    assert full.abs().mean() > 0.01
    assert torch.allclose(half, 0.5 * full, atol=1e-5)


def test_class_gain_of_old_configs_defaults_only_where_written():
    """Weights trained before class_gain existed say so in their JSON (class_gain 1.0)."""
    import json
    from pathlib import Path
    cfg = json.loads((Path(__file__).resolve().parent.parent / "models" / "generator.json").read_text())["config"]
    assert "class_gain" in cfg and "residual_from" in cfg
