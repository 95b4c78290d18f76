"""Training smoke tests: the real pipeline end to end on a tiny set, a few steps each.

build (procedural drums as pre-rendered items) -> classifier with leave-one-kit-out
cross-fitting (soft labels) -> GAN Trainer (scale 0 and the top scale, fade-in,
gradient penalty) -> checkpoint save / load / resume -> fp16 export that
DrumSynth.load uses -> encoder training on that generator, and its resume.
Sizes are tiny and steps few: these check that the machinery runs and keeps its
promises (shapes, files, resumability), not that anything learns much.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from liveinstrument import signal as S
from liveinstrument.data.build import build, load_set
from liveinstrument.data.sources import SourceItem
from liveinstrument.nets.generator import SCALES
from liveinstrument.train.classifier import (ClassifierTrainConfig, mel_features, predict, run,
                                             train_one)
from model_fixtures import assert_fp16_safetensors, drum, no_pickle

QUIET = lambda *a, **k: None  # noqa: E731


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    """12 train sounds in two kits, 3 in the unseen test kit, 1 tom; built by the real builder."""
    d = tmp_path_factory.mktemp("tiny")
    items = []
    for kit_i, kit in enumerate(("KitA", "KitB", "BJA_Pacific")):
        per = 1 if kit == "BJA_Pacific" else 2
        for ci, cls in enumerate(S.CLASSES):
            for j in range(per):
                items.append(SourceItem(f"sf2://tiny/{kit}/{cls}/{j}", "test", kit, cls.title(), cls, "CC0",
                                        audio=drum(cls, 100 * kit_i + 10 * ci + j), rate=44_100))
    items.append(SourceItem("sf2://tiny/KitA/tom", "test", "KitA", "Tom", "other", "CC0",
                            audio=drum("kick", 999), rate=44_100))
    report = build(items, d, "real")
    assert report.kept == {"train/kick": 4, "train/snare": 4, "train/cymbal": 4, "test/kick": 1,
                           "test/snare": 1, "test/cymbal": 1, "other/other": 1}, report.kept
    return d


@pytest.fixture(scope="module")
def classifier_run(tiny_set):
    cfg = ClassifierTrainConfig(epochs=1, batch=4, width=8)
    report = run(tiny_set / "real.npz", tiny_set / "models" / "classifier.safetensors", cfg,
                 labels_out=tiny_set / "soft_labels.npz", loko=True, log=QUIET)
    return report


# ------------------------------------------------------------------ classifier
def test_train_one_runs_a_few_steps_deterministically():
    audio = np.stack([drum(c, 40 + i) for c in S.CLASSES for i in range(2)])
    x, y = mel_features(audio), torch.arange(3).repeat_interleave(2)
    seen = []
    cfg = ClassifierTrainConfig(epochs=2, batch=4, width=8)
    m1 = train_one(x, y, cfg, progress=lambda s, t, loss: seen.append((s, t, loss)))
    m2 = train_one(x, y, cfg)
    assert [s for s, _, _ in seen] == [1, 2, 3, 4] and all(t == 4 for _, t, _ in seen)
    assert all(np.isfinite(loss) for _, _, loss in seen)
    assert not m1.training and m1.cfg.width == 8
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k                        # same seed, same model
    p = predict(m1, x)
    assert p.shape == (6, 3) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_train_one_fits_a_separable_set():
    audio = np.stack([drum(c, 60 + i) for c in S.CLASSES for i in range(4)])
    x, y = mel_features(audio), torch.arange(3).repeat_interleave(4)
    m = train_one(x, y, ClassifierTrainConfig(epochs=40, batch=12, width=8, lr=5e-3))
    assert (predict(m, x).argmax(1) == y.numpy()).mean() >= 0.75


def test_classifier_run_cross_fits_soft_labels(tiny_set, classifier_run):
    r = classifier_run
    assert set(r["loko"]["per_kit"]) == {"KitA", "KitB"} and r["loko"]["n"] == 12
    assert r["test"]["n"] == 3 and r["test"]["kits"] == ["BJA_Pacific"]
    assert np.array(r["test"]["confusion"]).sum() == 3
    assert (tiny_set / "models" / "classifier.report.json").exists()
    assert_fp16_safetensors(tiny_set / "models" / "classifier.safetensors")
    d, lab = load_set(tiny_set / "real.npz"), load_set(tiny_set / "soft_labels.npz")
    assert lab["probs"].shape == (len(d["label"]), 3) and np.isfinite(lab["probs"]).all()
    np.testing.assert_allclose(lab["probs"].sum(1), 1, atol=1e-5)
    assert list(lab["crossfit"]) == list(d["split"] == "train")
    np.testing.assert_array_equal(lab["label"], d["label"])


# ------------------------------------------------------------------ GAN
@pytest.fixture(scope="module")
def gan(tiny_set, classifier_run, tmp_path_factory):
    from liveinstrument.train.gan import GanTrainConfig, RealSet, Trainer

    data = RealSet(str(tiny_set / "real.npz"), str(tiny_set / "soft_labels.npz"), copies=0, seed=0, log=QUIET)
    cfg = GanTrainConfig(batch=[4] * 6, bf16=False, gp_every=2)
    run_dir = tmp_path_factory.mktemp("gan_run")
    tr = Trainer(cfg, run_dir, data, log=QUIET)
    g0 = {k: v.clone() for k, v in tr.G.state_dict().items()}
    stats = [tr.train_step(0, 1.0), tr.train_step(0, 1.0), tr.train_step(len(SCALES) - 1, 0.5)]
    return {"tr": tr, "data": data, "cfg": cfg, "run_dir": run_dir, "stats": stats, "g0": g0,
            "models": tiny_set / "models"}


def test_realset(gan):
    data = gan["data"]
    assert data.n_real == 12 and data.spec.shape == (12, 2, 1024, 48)
    assert data.c.shape == (12, 3) and torch.allclose(data.c.sum(1), torch.ones(12), atol=1e-5)
    spec, c = data.sample(5, torch.Generator().manual_seed(0))
    assert spec.shape == (5, 2, 1024, 48) and c.shape == (5, 3)


def test_sample_c_snaps_the_asked_fraction_to_one_hot_corners(gan):
    from liveinstrument.train.gan import sample_c

    data, g = gan["data"], torch.Generator().manual_seed(1)
    soft = sample_c(4000, data, g)
    assert not (soft.max(1).values == 1).all()  # the tiny set's labels are soft
    c = sample_c(4000, data, g, onehot_frac=0.25)
    corner = (c.max(1).values == 1) & (c.sum(1) == 1)
    assert 0.2 < corner.float().mean().item() - (soft.max(1).values == 1).float().mean().item() < 0.3
    assert torch.allclose(c.sum(1), torch.ones(4000), atol=1e-5)
    assert (sample_c(500, data, g, onehot_frac=1.0).max(1).values == 1).all()


def test_sample_c_leaves_ambiguous_labels_soft(gan):
    from liveinstrument.train.gan import sample_c

    data = gan["data"]
    top = data.c.max(1).values
    cut = float(top.median())  # half the tiny set's labels are below it
    c = sample_c(4000, data, torch.Generator().manual_seed(2), onehot_frac=1.0, onehot_min=cut)
    snapped = c.max(1).values == 1
    soft_top = c[~snapped].max(1).values
    assert snapped.any() and (~snapped).any()
    assert (soft_top < cut).all()  # every confident label was snapped, no ambiguous one was


def test_gan_steps_at_scale_0_and_top_scale(gan):
    tr, stats = gan["tr"], gan["stats"]
    assert tr.step == 3 and tr.kimg_done == pytest.approx(0.012)
    for st in stats:
        assert set(st) >= {"wdist", "loss_d", "loss_g", "gp", "aux"}
        assert all(np.isfinite(v) for v in st.values()), st
    assert stats[0]["gp"] > 0 and stats[1]["gp"] == 0 and stats[2]["gp"] > 0  # lazy GP, also at 1024 x 48
    changed = [k for k, v in tr.G.state_dict().items() if not torch.equal(v, gan["g0"][k])]
    assert any(k.startswith("blocks.0") for k in changed)
    # the top scale's head is residual and starts at zero: its first step moves the head
    # (blocks.5 gets gradient only once the head is non-zero)
    assert "to_spec.5.weight" in changed and "moment" in stats[2] and "seek" in stats[2]
    assert stats[0]["click"] == 0 and stats[2]["click"] >= 0  # the click term runs at full resolution only
    assert stats[0]["band"] == 0 and stats[2]["band"] > 0     # so does the band-energy matching
    ema_moved = any(not torch.equal(v, gan["g0"][k]) for k, v in tr.G_ema.state_dict().items())
    assert ema_moved
    with torch.no_grad():
        z, c = torch.randn(2, 128), torch.eye(3)[:2]
        for s, shape in enumerate(SCALES):
            assert tr.G(z, c, s).shape == (2, 2, *shape)


def test_schedule_position():
    from liveinstrument.train.gan import _schedule_position

    kimg = [1.0, 2.0, 2.0]
    assert _schedule_position(0.0, kimg) == (0, 1.0)
    assert _schedule_position(1.0, kimg) == (1, 0.0)
    assert _schedule_position(1.5, kimg) == (1, 0.5)
    assert _schedule_position(2.5, kimg) == (1, 1.0)
    assert _schedule_position(4.0, kimg) == (2, 1.0)
    assert _schedule_position(99.0, kimg)[0] == 2


def test_gan_checkpoint_round_trip_and_resume(gan, monkeypatch):
    from liveinstrument.train.gan import Trainer

    tr = gan["tr"]
    tr.save()
    run_dir = gan["run_dir"]
    assert (run_dir / "ckpt.safetensors").exists() and not (run_dir / "ckpt.tmp.safetensors").exists()
    state = json.loads((run_dir / "state.json").read_text())
    assert state["step"] == 3 and state["config"]["batch"] == [4] * 6
    fresh = Trainer(replace(gan["cfg"], seed=1), run_dir, gan["data"], log=QUIET)
    assert not torch.equal(fresh.G.input.weight, tr.G.input.weight)
    with no_pickle(monkeypatch):
        fresh.load(run_dir)
    assert (fresh.step, fresh.kimg_done) == (tr.step, tr.kimg_done)
    for a, b in ((fresh.G, tr.G), (fresh.D, tr.D), (fresh.G_ema, tr.G_ema)):
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(va, vb), k
    st = fresh.train_step(len(SCALES) - 1, 1.0)                 # and training goes on from there
    assert fresh.step == 4 and np.isfinite(st["loss_g"])


def test_resume_with_a_longer_last_scale_does_not_fade_it_back_out(gan, tmp_path):
    """Extending the current scale's budget lengthens its fade on paper; a resumed run must
    keep the alpha the checkpoint had reached (a fade back to 0.5 would mute the top head)."""
    from liveinstrument.train.gan import Trainer

    short = replace(gan["cfg"], kimg=[0.001] * 5 + [0.004])     # 3 steps of 4: scale 5 fully faded in
    tr = Trainer(short, tmp_path, gan["data"], log=QUIET)
    tr.kimg_done = 0.012
    tr.save()
    assert tr.position() == (5, 1.0)
    longer = Trainer(replace(gan["cfg"], kimg=[0.001] * 5 + [0.1]), tmp_path, gan["data"], log=QUIET)
    longer.kimg_done = 0.012
    assert longer.position()[1] < 1.0                            # a fresh run fades as scheduled...
    longer.load(tmp_path)
    assert longer.position() == (5, 1.0)                         # ...a resumed one stays faded in
    longer.save()                                                # and so does a resume of the resume,
    again = Trainer(replace(gan["cfg"], kimg=[0.001] * 5 + [0.2]), tmp_path, gan["data"], log=QUIET)
    again.load(tmp_path)                                         # whose saved schedule says 0.12
    assert again.position() == (5, 1.0)
    earlier = Trainer(replace(gan["cfg"], kimg=[0.02] + [0.001] * 4 + [0.1]), tmp_path, gan["data"], log=QUIET)
    earlier.load(tmp_path)                                       # a schedule that puts it on another scale
    assert earlier.position() == (0, 1.0)


def test_gan_export_is_what_drumsynth_loads(gan, monkeypatch):
    from liveinstrument.synth import DrumSynth

    tr, models = gan["tr"], gan["models"]
    tr.export(models / "generator.safetensors")
    assert_fp16_safetensors(models / "generator.safetensors")
    meta = json.loads((models / "generator.json").read_text())
    assert meta["training"]["steps"] == tr.step and meta["training"]["n_real_train"] == 12
    with no_pickle(monkeypatch):
        synth = DrumSynth.load(models, device="cpu", with_encoder=False)
    for (k, shipped), ema in zip(synth.generator.state_dict().items(), tr.G_ema.state_dict().values()):
        assert torch.equal(shipped, ema.half().float()), k     # the EMA weights ship, fp16-rounded
    audio = synth.generate(np.random.default_rng(0).standard_normal((2, 128)), np.eye(3)[:2])
    assert audio.shape == (2, S.N_SAMPLES) and np.isfinite(audio).all()


def test_gan_main_tiny_schedule_and_resume(tiny_set, classifier_run, tmp_path, capsys):
    """`drumgan train gan` end to end: every scale once, snapshot, export; then --resume extends it."""
    from liveinstrument.cli import main

    run_dir, export = tmp_path / "run", tmp_path / "models" / "generator.safetensors"
    base = ["train", "gan", "--data", str(tiny_set / "real.npz"), "--labels", str(tiny_set / "soft_labels.npz"),
            "--run-dir", str(run_dir), "--export", str(export), "--batch", *["2"] * 6, "--no-bf16"]
    assert main(base + ["--kimg", *["0.002"] * 6]) == 0
    state = json.loads((run_dir / "state.json").read_text())
    assert state["step"] == 6
    assert_fp16_safetensors(export)
    assert len(list((run_dir / "samples").glob("*.wav"))) == 6
    assert len(list((run_dir / "samples").glob("*.png"))) == 1
    assert (run_dir / "log.csv").read_text().startswith("step,kimg,scale,alpha")
    # resumed with the classifier guide on (the shipped soft-label classifier listens)
    # resumed without --export: the EMA G goes into the run folder, never over shipped weights
    no_export = [a for a in base if a not in ("--export", str(export))]
    before = export.read_bytes()
    assert main(no_export + ["--resume", str(run_dir), "--kimg", *["0.002"] * 5, "0.004", "--guide-weight", "1"]) == 0
    assert export.read_bytes() == before
    export = run_dir / "generator.safetensors"
    assert_fp16_safetensors(export)
    assert json.loads((run_dir / "state.json").read_text())["step"] == 7
    last = (run_dir / "log.csv").read_text().strip().splitlines()
    assert last[0].split(",")[-6:-1] == ["guide", "click", "band", "consist", "envelope"]
    assert json.loads((export.with_suffix(".json")).read_text())["training"]["recipe"]["guide_weight"] == 1.0
    capsys.readouterr()


# ------------------------------------------------------------------ encoder
def test_encoder_training_and_resume(tiny_set, classifier_run, tmp_path, capsys):
    """`train encoder` for 2 steps, then --resume to 3. E has the shipped (paper) shape; the
    frozen G it learns from is a narrow one, since G runs three times per step at batch 28."""
    from safetensors.torch import load_file

    from liveinstrument.modelio import save_model
    from liveinstrument.nets.generator import Generator, GeneratorConfig
    from liveinstrument.synth import DrumSynth
    from liveinstrument.train.encoder import main

    models = tmp_path / "models"
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(widths=[16, 16, 8, 8, 4, 4], convs=[1] * 6))
    save_model(g, models / "generator.safetensors", g.cfg.to_dict())
    run_dir = tmp_path / "enc_run"
    args = argparse.Namespace(generator=str(models / "generator.safetensors"),
                              labels=str(tiny_set / "soft_labels.npz"), run_dir=str(run_dir), resume=False,
                              steps=2, hours=None, out=str(models / "encoder.safetensors"), threads=None,
                              no_bf16=True, init=None, real_weight=0.0, data=str(tiny_set / "real.npz"), val_kit="", ckpt_every=200, real_lsd_weight=0.2, real_share=[1.0, 1.0, 2.0], input_floor_db=-50.0)
    assert main(args) == 0
    state = json.loads((run_dir / "state.json").read_text())
    assert state["encoder"]["floor_db"] == -50.0
    assert state["step"] == 2
    assert_fp16_safetensors(models / "encoder.safetensors")
    meta = json.loads((models / "encoder.json").read_text())
    assert meta["training"]["steps"] == 2 and meta["generator_hash"] == state["generator"]
    shipped, ema = load_file(str(models / "encoder.safetensors")), load_file(str(run_dir / "ema.safetensors"))
    assert all(torch.equal(shipped[k], ema[k].to(shipped[k].dtype)) for k in shipped)  # the moving average ships
    before = load_file(str(run_dir / "ckpt.safetensors"))

    args.resume, args.steps, args.input_floor_db = True, 3, -30.0  # a resume keeps the run's threshold
    assert main(args) == 0
    assert "resumed at step 2" in capsys.readouterr().out
    assert json.loads((models / "encoder.json").read_text())["config"]["floor_db"] == -50.0
    assert json.loads((run_dir / "state.json").read_text())["step"] == 3
    after = load_file(str(run_dir / "ckpt.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in before)

    synth = DrumSynth.load(models, device="cpu")
    assert synth.encoder is not None and synth.encoder.cfg.floor_db == -50.0
    z, c = synth.encode(np.stack([drum("kick", 5), drum("cymbal", 5)]), refine_steps=1)
    assert z.shape == (2, 128) and c.shape == (2, 3) and np.allclose(c.sum(1), 1, atol=1e-4)

    missing = argparse.Namespace(**{**vars(args), "generator": str(tmp_path / "none.safetensors")})
    assert main(missing) == 2

    # --init: a fresh run that starts from the trained weights (E after G was retrained)
    warm = argparse.Namespace(**{**vars(args), "resume": False, "steps": 1, "init": str(models / "encoder.safetensors"),
                                 "run_dir": str(tmp_path / "warm"), "out": str(tmp_path / "warm.safetensors")})
    assert main(warm) == 0
    assert "starting from" in capsys.readouterr().out
    assert json.loads((tmp_path / "warm" / "state.json").read_text())["step"] == 1
    assert main(argparse.Namespace(**{**vars(warm), "init": str(tmp_path / "nope.safetensors")})) == 2

    # --real-weight: E also fitted on real training sounds by analysis by synthesis
    on_real = argparse.Namespace(**{**vars(warm), "real_weight": 1.0, "steps": 10,
                                    "run_dir": str(tmp_path / "real"), "out": str(tmp_path / "real.safetensors")})
    assert main(on_real) == 0
    rows = (tmp_path / "real" / "log.csv").read_text().strip().splitlines()
    assert rows[0] == "step,latent,spectral,real,real_lsd,val_lsd,wall_s"
    assert float(rows[1].split(",")[3]) > 0 and float(rows[1].split(",")[4]) > 0
    assert main(argparse.Namespace(**{**vars(on_real), "data": str(tmp_path / "none.npz")})) == 2


def test_heard_lsd_is_the_eval_lsd_and_has_a_gradient():
    """Known answer: on G-free spectra (real sounds' own model spectra) the training loss equals
    eval.metrics.lsd_db of the rendered audio against the reference, per item."""
    from liveinstrument.eval.metrics import lsd_db
    from liveinstrument.synth import heard_lsd

    ref = torch.from_numpy(np.stack([drum(k, 3) for k in ("kick", "snare", "cymbal")]).astype(np.float32))
    other = torch.from_numpy(np.stack([drum(k, 9) for k in ("snare", "cymbal", "kick")]).astype(np.float32))
    spec = S.to_model_spec(other).requires_grad_(True)
    got = heard_lsd(spec, ref)
    rendered = (S.from_model_spec(spec.detach()) * torch.from_numpy(S.fade_window())).numpy()
    np.testing.assert_allclose(got.detach().numpy(), lsd_db(ref.numpy(), rendered), rtol=1e-3)
    assert heard_lsd(S.to_model_spec(ref), ref).max() < 1.0 < got.min()  # itself: ~0 dB (fades only)
    got.sum().backward()
    assert torch.isfinite(spec.grad).all() and spec.grad.abs().sum() > 0


def test_real_sounds_are_drawn_with_each_class_share(tiny_set):
    from liveinstrument.data.build import load_set
    from liveinstrument.train.encoder import RealSounds

    real = str(tiny_set / "real.npz")
    d = load_set(real)
    keep = (d["split"] == "train") & (d["label"] < 3)
    cls = {k: int(lab) for k, lab in zip(map(bytes, d["audio"][keep].astype(np.float32)), d["label"][keep])}
    g = torch.Generator().manual_seed(0)
    for share, want in (((1.0, 1.0, 1.0), [1 / 3] * 3), ((1.0, 1.0, 2.0), [0.25, 0.25, 0.5]), ((0.0, 0.0, 1.0), [0, 0, 1])):
        drawn = RealSounds(real, copies=0, share=share).sample(3000, g).numpy()
        frac = np.bincount([cls[bytes(x)] for x in drawn], minlength=3) / len(drawn)
        np.testing.assert_allclose(frac, want, atol=0.04)


def test_encoder_ships_the_checkpoint_best_on_the_held_out_kit(tiny_set, classifier_run, tmp_path, capsys):
    """--val-kit: KitB is held out of the real-sound term and scores E's moving average at each
    checkpoint; the one that ships is the best scored so far, with its figure in the config."""
    from liveinstrument.modelio import save_model
    from liveinstrument.nets.generator import Generator, GeneratorConfig
    from liveinstrument.train.encoder import RealSounds, main

    models = tmp_path / "models"
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(widths=[16, 16, 8, 8, 4, 4], convs=[1] * 6))
    save_model(g, models / "generator.safetensors", g.cfg.to_dict())
    real = str(tiny_set / "real.npz")
    assert len(RealSounds(real, copies=0, exclude_kits=("KitB",)).audio) == 6  # KitA's 6 of 12
    args = argparse.Namespace(generator=str(models / "generator.safetensors"), labels=str(tiny_set / "soft_labels.npz"),
                              run_dir=str(tmp_path / "run"), resume=False, steps=4, hours=None,
                              out=str(models / "encoder.safetensors"), threads=None, no_bf16=True, init=None,
                              real_weight=1.0, data=real, val_kit="KitB", ckpt_every=2,
                              real_lsd_weight=0.2, real_share=[1.0, 1.0, 2.0], input_floor_db=-30.0)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "validation: 6 sounds of KitB" in out and "best on KitB at step" in out
    rows = [r.split(",") for r in (tmp_path / "run" / "log.csv").read_text().strip().splitlines()[1:]]
    scored = [float(r[5]) for r in rows if r[5]]
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    best = state["best_val"]
    assert len(scored) == 2 and best["lsd"] == pytest.approx(min(scored), abs=1e-3)  # scored at steps 2 and 4
    assert best["kit"] == "KitB" and best["step"] == (2, 4)[int(np.argmin(scored))]
    meta = json.loads((models / "encoder.json").read_text())
    assert meta["training"]["steps"] == best["step"] and meta["training"]["val_lsd_db"] == pytest.approx(best["lsd"], abs=1e-3)
    assert main(argparse.Namespace(**{**vars(args), "val_kit": "NoSuchKit"})) == 2
    assert "no training sounds of kit 'NoSuchKit'" in capsys.readouterr().out
