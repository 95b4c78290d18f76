"""Where the grain in G's kick lows comes from (issue #14, model card).

    python benchmarks/grain_cause.py [--generator models/generator.safetensors] [--n 100]

G outputs a complex STFT (2048 / 512) that need not be the STFT of any waveform. For one-hot
kicks (and the real training kicks) this prints, per set:

- the inconsistency ||S - STFT(iSTFT(S))||^2 / ||S||^2 in the 30-150 Hz bins (and overall);
- the low-band graininess (eval.metrics.spectral_balance) of the sound as played, and of the
  sound after Griffin-Lim projection onto a consistent STFT that keeps G's magnitudes;
- a hop-512 version of the graininess on G's own magnitudes |S| (what G asked for) and on the
  consistent |STFT(iSTFT(S))| (what the overlap-add gave);
- the correlation over sounds of graininess with inconsistency.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from liveinstrument import signal as S  # noqa: E402
from liveinstrument.data.build import load_set  # noqa: E402
from liveinstrument.eval.metrics import spectral_balance  # noqa: E402
from liveinstrument.modelio import load_config, load_weights  # noqa: E402
from liveinstrument.nets.generator import Generator, GeneratorConfig  # noqa: E402

LOW = S.band_bins(*S.LOW_BAND_HZ, n_fft=S.N_FFT)  # bins 2-6 of G's 2048-point STFT


def stft_domain(spec: torch.Tensor) -> torch.Tensor:
    """G's model spectrum [B, 2, F, T] -> the complex STFT that istft() turns into its audio."""
    return S.model_spec_to_stft(spec)


def inconsistency(x: torch.Tensor, bins=None) -> np.ndarray:
    """||X - STFT(iSTFT(X))||^2 / ||X||^2 per sound, over ``bins`` (all when None)."""
    xp = S.stft(S.istft(x))
    d, r = (x - xp).abs().square(), x.abs().square()
    if bins is not None:
        d, r = d[:, bins], r[:, bins]
    return (d.sum((1, 2)) / r.sum((1, 2)).clamp_min(1e-30)).numpy()


def griffin_lim(x: torch.Tensor, iters: int) -> torch.Tensor:
    """Project onto consistent STFTs keeping |x|, starting from x's own phase."""
    mag, y = x.abs(), x
    for _ in range(iters):
        y = S.stft(S.istft(y))
        y = mag * torch.exp(1j * y.angle())
    return y


def hop512_grain(mag: torch.Tensor) -> np.ndarray:
    """The graininess statistic on G's own frames (hop 512): 30-150 Hz power per frame in dB from
    the loudest frame while within 40 dB, minus a quadratic trend, mean |jump|."""
    e = mag[:, LOW].square().sum(1).numpy()  # [B, T]
    out = np.full(len(e), np.nan)
    last = int(S.LATE_S * S.SAMPLE_RATE / S.HOP) + 1
    for i, row in enumerate(e):
        seg = row[:last]
        k = int(np.argmax(seg))
        below = np.flatnonzero(seg[k:] < seg[k] * 1e-4)
        d = 10 * np.log10(np.maximum(seg[k:k + (below[0] if below.size else seg.size - k)], 1e-30))
        if d.size >= 4:
            t = np.arange(d.size)
            out[i] = np.mean(np.abs(np.diff(d - np.polyval(np.polyfit(t, d, 2), t))))
    return out


def fade(a: torch.Tensor) -> torch.Tensor:
    return a * torch.from_numpy(S.fade_window())


def report(name: str, x: torch.Tensor, gl_iters: int) -> None:
    audio = fade(S.istft(x))
    grain = spectral_balance(audio.numpy())["low_graininess_db"]
    inc_low, inc_all = inconsistency(x, LOW), inconsistency(x)
    proj = griffin_lim(x, gl_iters)
    grain_gl = spectral_balance(fade(S.istft(proj)).numpy())["low_graininess_db"]
    own = hop512_grain(x.abs())
    played = hop512_grain(S.stft(S.istft(x)).abs())
    ok = np.isfinite(grain)
    r = np.corrcoef(grain[ok], inc_low[ok])[0, 1] if ok.sum() > 2 else float("nan")
    print(f"{name} (n={len(x)}): inconsistency 30-150 Hz {np.mean(inc_low):.4f} (median {np.median(inc_low):.4f}), "
          f"all bins {np.mean(inc_all):.4f}")
    print(f"  graininess as played {np.nanmean(grain):.2f} dB; after {gl_iters} Griffin-Lim iterations "
          f"{np.nanmean(grain_gl):.2f} dB (inconsistency then {np.mean(inconsistency(proj, LOW)):.4f})")
    print(f"  hop-512 graininess: of |S| as G made it {np.nanmean(own):.2f} dB, of the played STFT {np.nanmean(played):.2f} dB")
    print(f"  correlation over sounds, graininess vs inconsistency: r = {r:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", default="models/generator.safetensors")
    ap.add_argument("--data", default="data/real.npz")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--gl-iters", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    cfg = load_config(args.generator)["config"]
    g = load_weights(Generator(GeneratorConfig(**cfg)), args.generator).eval()
    z = torch.from_numpy(np.random.default_rng(args.seed).standard_normal((args.n, cfg["latent_dim"])).astype(np.float32))
    c = torch.zeros(args.n, 3)
    c[:, 0] = 1.0
    with torch.no_grad():
        spec = g(z, c)
        report("generated kicks", stft_domain(spec), args.gl_iters)
        d = load_set(args.data)
        sel = np.flatnonzero((d["split"] == "train") & (d["label"] == 0))
        real = torch.from_numpy(d["audio"][sel].astype(np.float32))
        report("real kicks", S.stft(real), args.gl_iters)


if __name__ == "__main__":
    main()
