"""Multi-process GAN training through torchrun (the multi-GPU path), run here on CPU with gloo.

Real torchrun, real process group: two workers must average gradients and stay in
lockstep, stop together, and leave one checkpoint behind (written by rank 0 only).
"""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest



@pytest.mark.slow
def test_torchrun_two_workers(tmp_path):
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun not on PATH (comes with torch)")
    from liveinstrument.data.procedural import synth_set
    audio, labels, _ = synth_set(6, 0)
    y = np.array([("kick", "snare", "cymbal").index(x) for x in labels])
    np.savez(tmp_path / "set.npz", audio=audio, label=y, split=np.array(["train"] * len(y)),
             kit=np.array(["k"] * len(y)), real=np.zeros(len(y), bool))
    np.savez(tmp_path / "labels.npz", probs=np.eye(3, dtype=np.float32)[y], label=y,
             split=np.array(["train"] * len(y)), kit=np.array(["k"] * len(y)))
    run = tmp_path / "run"
    cmd = ["torchrun", "--standalone", "--nproc_per_node=2", "-m", "liveinstrument.cli", "train", "gan",
           "--data", str(tmp_path / "set.npz"), "--labels", str(tmp_path / "labels.npz"),
           "--run-dir", str(run), "--export", str(tmp_path / "g.safetensors"),
           "--kimg", "0.04", "0.02", "0.01", "0.01", "0.01", "0.01", "--batch", "4", "4", "2", "2", "2", "2",
           "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    state = json.loads((run / "state.json").read_text())
    # Two workers: each step counts both workers' samples.
    assert state["kimg_done"] >= 0.1
    assert (tmp_path / "g.safetensors").exists()
    assert out.stdout.count("stopped at step") == 1  # rank 0 alone reports and saves
