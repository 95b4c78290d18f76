"""Where the sub-100 Hz thump under G's snares and cymbals comes from (issue #14, model card).

    python benchmarks/thump_cause.py [--data data/base/real.npz]

1. Real training snares/cymbals pooled to each of G's scales (signal.pool_spec) and upsampled
   nearest-neighbour to full size, as G's top scales receive the coarse output: the sub-100 Hz
   share of the first 120 ms (mean over sounds, dB) at each scale.
2. How that share is spread over the real sounds of a class: the typical sound (mean of the
   share in dB) against the share of the mean power, how many sounds lie above -15 dB and which
   kits they come from, and what part of the class's sub-100 Hz power its top 5 sounds hold.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from liveinstrument import signal as S  # noqa: E402
from liveinstrument.data.build import load_set  # noqa: E402
from liveinstrument.eval.metrics import spectral_balance  # noqa: E402
from liveinstrument.nets.generator import SCALES  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/base/real.npz")
    args = ap.parse_args()
    d = load_set(args.data)
    for k in (1, 2):
        sel = np.flatnonzero((d["split"] == "train") & (d["label"] == k))
        audio = d["audio"][sel].astype(np.float32)
        spec = S.to_model_spec(torch.from_numpy(audio))
        row = []
        for s, size in enumerate(SCALES):
            up = F.interpolate(S.pool_spec(spec, size), size=SCALES[-1], mode="nearest")
            sb = spectral_balance(S.from_model_spec(up).numpy())
            row.append(f"{size[0]} bins {np.mean(np.maximum(10 * np.log10(np.maximum(sb['sub_share'], 1e-20)), -80)):.1f}")
        print(f"{S.CLASSES[k]} (n={len(sel)}) sub-100 Hz share, upsampled from: " + " | ".join(row))
        share = spectral_balance(audio)["sub_share"]
        db = 10 * np.log10(np.maximum(share, 1e-8))
        top = np.sort(share)[::-1]
        print(f"  typical (mean dB) {np.maximum(db, -80).mean():.1f} dB, share of the mean power "
              f"{10 * np.log10(share.mean()):.1f} dB; {int((db > -15).sum())} sounds above -15 dB "
              f"(kits {sorted(set(d['kit'][sel][db > -15].tolist()))}); top 5 hold "
              f"{top[:5].sum() / top.sum():.2f} of the class's sub-100 Hz power")


if __name__ == "__main__":
    main()
