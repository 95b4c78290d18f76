"""Procedural drum synthesizer: determinism, format, class separation."""
import numpy as np
import pytest

from liveinstrument import signal as S
from liveinstrument.data import procedural as P


@pytest.fixture(scope="module")
def synth30():
    return P.synth_set(30, seed=7)


def test_synth_set_is_deterministic_and_seed_dependent():
    a1, l1, p1 = P.synth_set(2, seed=3)
    a2, l2, p2 = P.synth_set(2, seed=3)
    a3, _, _ = P.synth_set(2, seed=4)
    assert np.array_equal(a1, a2) and l1 == l2 and p1 == p2
    assert not np.allclose(a1, a3)


def test_sound_does_not_depend_on_set_size_and_rerenders_from_params():
    small, _, params = P.synth_set(1, seed=5)
    big, _, _ = P.synth_set(3, seed=5)
    assert np.array_equal(small[1], big[3])  # first snare of each set
    again = P.synth("snare", np.random.default_rng(params[1]["seed"]))
    assert np.array_equal(again, small[1])


def test_format(synth30):
    audio, labels, params = synth30
    assert audio.shape == (90, S.N_SAMPLES) and audio.dtype == np.float32
    assert np.isfinite(audio).all()
    np.testing.assert_allclose(np.abs(audio).max(axis=1), 1.0, atol=1e-6)
    assert np.sqrt(np.mean(audio ** 2, axis=1)).min() > 1e-3  # no silence
    assert labels == ["kick"] * 30 + ["snare"] * 30 + ["cymbal"] * 30
    assert all(p["source"] == "synthetic" and p["cls"] == c for p, c in zip(params, labels))
    # onset where fit_one_shot puts it, fade-out at the end
    assert all(S.find_onset(x) <= 2 * S.FADE_IN for x in audio)
    assert np.abs(audio[:, -1]).max() < 1e-6


def test_dispatcher():
    rng = np.random.default_rng(0)
    for cls in S.CLASSES:
        params: dict = {}
        x = P.synth(cls, rng, params)
        assert x.shape == (S.N_SAMPLES,) and params["cls"] == cls and "variant" in params
    with pytest.raises(ValueError):
        P.synth("tom", rng)


def test_class_separation(synth30):
    audio, labels, _ = synth30
    labels = np.array(labels)
    med = {c: {k: np.median([P.sound_features(x)[k] for x in audio[labels == c]])
               for k in ("centroid_hz", "low_ratio")} for c in S.CLASSES}
    assert 2 * med["kick"]["centroid_hz"] < med["snare"]["centroid_hz"]
    assert 1.5 * med["snare"]["centroid_hz"] < med["cymbal"]["centroid_hz"]
    assert med["kick"]["low_ratio"] > 0.7 > 0.1 > med["snare"]["low_ratio"] >= med["cymbal"]["low_ratio"]


def test_hat_decays_match_their_variant():
    rng = np.random.default_rng(11)
    decays: dict = {"closed_hat": [], "open_hat": []}
    while min(len(v) for v in decays.values()) < 3:
        p: dict = {}
        x = P.synth_cymbal(rng, p)
        if p["variant"] in decays:
            decays[p["variant"]].append(P.sound_features(x)["decay_s"])
    assert max(decays["closed_hat"]) < min(decays["open_hat"])
