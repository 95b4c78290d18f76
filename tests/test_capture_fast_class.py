"""Fast kick/snare/cymbal classifier on the first ms (synthetic vocal-percussion-like hits,
not real beatboxing; fresh seeds, not the training ones)."""
from __future__ import annotations

import numpy as np

from liveinstrument.capture.fast_class import FastClassifier, evaluate, features
from liveinstrument.capture.vocal_synth import hit


def test_accuracy_by_decision_window():
    res = evaluate(windows_ms=(3.0, 6.0, 12.0), n_per_class=60, seed=777)
    assert res[3.0]["accuracy"] >= 0.9, res
    assert res[6.0]["accuracy"] >= 0.95, res
    assert res[12.0]["accuracy"] >= 0.95, res
    assert res[6.0]["accuracy"] >= res[6.0]["rule_accuracy"]


def test_level_independent_and_fast():
    import time
    clf = FastClassifier()
    rng = np.random.default_rng(5)
    for lab, ci in (("kick", 0), ("snare", 1), ("cymbal", 2)):
        x = hit(lab, rng)[:265]
        assert clf.classify(x, 6.0)[0] == clf.classify(0.01 * x, 6.0)[0]
        assert np.allclose(features(x), features(0.01 * x), atol=1e-3)
    t0 = time.perf_counter()
    for _ in range(200):
        clf.classify(x, 6.0)
    assert (time.perf_counter() - t0) / 200 < 0.002     # well under a block


def test_window_choice_snaps_to_trained_ones():
    clf = FastClassifier()
    assert clf.window_ms(5.0) in clf.models and clf.window_ms(100) == max(clf.models)
