"""Procedural drum synthesizer with wide random parameters (DESIGN.md §3).

A *widening aid* only: the real corpus has tens of kicks, ~60 snares and ~130
cymbals, so these classic analogue-style recipes (808/909 kick, modal snare,
clap, rimshot, six-square "808 metal" hats, crashes and rides) cover the space
between and around them. Sounds made here are recorded as ``synthetic`` in
the data manifests, and every metric is also reported on real data alone so
that synthetic sounds can never flatter the results.

Each ``synth_*`` draws its parameters from ``rng``, renders at 44.1 kHz and
returns a finished one-shot (signal.fit_one_shot + signal.peak_normalize,
float32 [N_SAMPLES]); pass ``params={}`` to get the drawn parameters back.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.signal

from .. import signal as S

SR = S.SAMPLE_RATE
_N = S.N_SAMPLES  # rendered length; fit_one_shot cuts and fades it anyway
_T = np.arange(_N, dtype=np.float64) / SR
_LN100 = math.log(100.0)  # decay times below are "time to fall 40 dB"
# TR-808 cymbal/hat oscillator frequencies (Hz): inharmonic, hence metallic.
_METAL_808 = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])


# ---------------------------------------------------------------- building blocks
def _lu(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Log-uniform draw: frequencies and times are perceived on log scales."""
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _decay(t40_s: float, attack_s: float = 0.0, start_s: float = 0.0) -> np.ndarray:
    """Exponential envelope falling 40 dB in ``t40_s``, optional linear attack, silent before ``start_s``."""
    t = _T - start_s
    env = np.where(t >= 0.0, np.exp(-np.maximum(t, 0.0) * (_LN100 / t40_s)), 0.0)
    if attack_s > 0.0:
        env *= np.clip(t / attack_s, 0.0, 1.0)
    return env


def _bandpass(x: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    hi = min(hi, 0.45 * SR)
    sos = scipy.signal.butter(order, [lo, hi], btype="bandpass", fs=SR, output="sos")
    return scipy.signal.sosfilt(sos, x)


def _pass(x: np.ndarray, kind: str, cutoff: float, order: int = 2) -> np.ndarray:
    sos = scipy.signal.butter(order, min(cutoff, 0.45 * SR), btype=kind, fs=SR, output="sos")
    return scipy.signal.sosfilt(sos, x)


def _unit(x: np.ndarray) -> np.ndarray:
    """Peak-normalise a component so mix ratios mean what they say."""
    return x / max(float(np.max(np.abs(x))), 1e-12)


def _noise(rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(_N)


def _blep(t: np.ndarray, dt: float) -> np.ndarray:
    """PolyBLEP residual: removes the aliasing of a naive square's jumps."""
    out = np.zeros_like(t)
    m = t < dt
    u = t[m] / dt
    out[m] = 2.0 * u - u * u - 1.0
    m = t > 1.0 - dt
    u = (t[m] - 1.0) / dt
    out[m] = u * u + 2.0 * u + 1.0
    return out


def _square(freq: float, phase0: float) -> np.ndarray:
    """Band-limited (PolyBLEP) square wave."""
    dt = freq / SR
    ph = (phase0 + dt * np.arange(_N)) % 1.0
    y = np.where(ph < 0.5, 1.0, -1.0)
    return y + _blep(ph, dt) - _blep((ph + 0.5) % 1.0, dt)


def _finish(x: np.ndarray) -> np.ndarray:
    """Pre-roll of FADE_IN samples (so the fade-in does not eat the attack), fit, normalise."""
    x = np.concatenate([np.zeros(S.FADE_IN), np.nan_to_num(x)])
    return S.peak_normalize(S.fit_one_shot(x))


def _record(params: dict | None, drawn: dict) -> None:
    if params is not None:
        params.update({k: (round(v, 6) if isinstance(v, float) else v) for k, v in drawn.items()})


# ---------------------------------------------------------------- kick
def synth_kick(rng: np.random.Generator, params: dict | None = None) -> np.ndarray:
    """Swept sine/triangle body + click; variants ``punch`` (909-ish) and ``808`` (long tail)."""
    v = "808" if rng.random() < 0.25 else "punch"
    p: dict = {"cls": "kick", "variant": v}
    p["f_end"] = _lu(rng, 40.0, 80.0)
    if v == "808":
        p["f_start"] = p["f_end"] * rng.uniform(1.3, 3.0)
        p["sweep_ms"] = rng.uniform(20.0, 80.0)
        p["decay_ms"] = rng.uniform(500.0, 1500.0)
        p["click"] = rng.uniform(0.0, 0.25)
    else:
        p["f_start"] = _lu(rng, 100.0, 400.0)
        p["decay_ms"] = _lu(rng, 80.0, 500.0)
        # A glide as long as the whole hit would read as a tom: keep it under a third of the decay.
        p["sweep_ms"] = rng.uniform(10.0, min(80.0, p["decay_ms"] / 3.0))
        p["click"] = _lu(rng, 0.03, 0.5)
    p["wave"] = "triangle" if rng.random() < 0.25 else "sine"
    p["attack_ms"] = rng.uniform(0.2, 3.0)
    p["click_ms"] = _lu(rng, 0.5, 8.0)
    p["click_hz"] = _lu(rng, 1000.0, 6000.0)
    p["drive_db"] = rng.uniform(3.0, 18.0) if rng.random() < 0.35 else 0.0

    # Pitch glides exponentially from f_start to f_end; "sweep" is ~3 time constants.
    f = p["f_end"] + (p["f_start"] - p["f_end"]) * np.exp(-_T / (p["sweep_ms"] / 3000.0))
    phase = 2.0 * np.pi * np.cumsum(f) / SR
    body = np.sin(phase)
    if p["wave"] == "triangle":  # brighter, more "analog" body
        body = (2.0 / np.pi) * np.arcsin(body)
    body *= _decay(p["decay_ms"] / 1000.0, p["attack_ms"] / 1000.0)
    # Beater click: a few ms of band-passed noise.
    click = _bandpass(_noise(rng) * _decay(p["click_ms"] / 1000.0),
                      p["click_hz"] / 2.0, p["click_hz"] * 2.0)
    x = _unit(body) + p["click"] * _unit(click)
    if p["drive_db"] > 0.0:
        g = 10.0 ** (p["drive_db"] / 20.0)
        x = np.tanh(g * _unit(x))
    _record(params, p)
    return _finish(x)


# ---------------------------------------------------------------- snare
_MEMBRANE = np.array([1.0, 1.59, 2.14, 2.30, 2.65])  # circular membrane mode ratios


def _modes(rng: np.random.Generator, f0: float, n: int, decay_ms: float, bend: float) -> np.ndarray:
    """Sum of damped membrane modes with a short downward pitch bend (stick impact)."""
    ratios = _MEMBRANE[:n] * np.concatenate([[1.0], rng.uniform(0.97, 1.03, n - 1)])
    amps = np.concatenate([[1.0], rng.uniform(0.2, 0.8, n - 1)])
    decays = decay_ms * np.concatenate([[1.0], rng.uniform(0.4, 1.0, n - 1)])
    bend_env = 1.0 + bend * np.exp(-_T / 0.01)
    out = np.zeros(_N)
    for r, a, d in zip(ratios, amps, decays):
        phase = 2.0 * np.pi * np.cumsum(f0 * r * bend_env) / SR
        out += a * np.sin(phase) * _decay(d / 1000.0)
    return out


def synth_snare(rng: np.random.Generator, params: dict | None = None) -> np.ndarray:
    """Modal body (150-350 Hz) + wire noise; variants ``snare``, ``rimshot``, ``clap``."""
    v = str(rng.choice(["snare", "rimshot", "clap"], p=[0.6, 0.2, 0.2]))
    p: dict = {"cls": "snare", "variant": v}
    if v == "clap":
        # Several hands a few ms apart, then a room-ish tail, all mid-band noise.
        p["bursts"] = int(rng.integers(3, 6))
        p["spacing_ms"] = rng.uniform(4.0, 15.0)
        p["burst_ms"] = rng.uniform(3.0, 10.0)
        p["tail_ms"] = rng.uniform(80.0, 250.0)
        p["center_hz"] = _lu(rng, 900.0, 2500.0)
        p["width"] = rng.uniform(1.5, 2.5)
        env = np.zeros(_N)
        for k in range(p["bursts"]):
            t0 = k * p["spacing_ms"] / 1000.0
            env = np.maximum(env, rng.uniform(0.6, 1.0) * _decay(p["burst_ms"] / 1000.0, start_s=t0))
        t_last = (p["bursts"] - 1) * p["spacing_ms"] / 1000.0
        env = np.maximum(env, 0.5 * _decay(p["tail_ms"] / 1000.0, start_s=t_last))
        x = _bandpass(_noise(rng) * env,
                      p["center_hz"] / p["width"], p["center_hz"] * p["width"])
        _record(params, p)
        return _finish(x)

    rim = v == "rimshot"
    p["f0"] = rng.uniform(150.0, 350.0)
    p["modes"] = int(rng.integers(2, 6))
    p["body_ms"] = rng.uniform(30.0, 100.0) if rim else rng.uniform(40.0, 200.0)
    p["bend"] = rng.uniform(0.0, 0.15)
    p["wires_ms"] = rng.uniform(60.0, 180.0) if rim else rng.uniform(100.0, 300.0)
    p["noise_filter"] = "highpass" if rng.random() < 0.4 else "bandpass"
    p["noise_hz"] = _lu(rng, 800.0, 3000.0) if p["noise_filter"] == "highpass" else _lu(rng, 1500.0, 5000.0)
    p["noise_lowpass_hz"] = _lu(rng, 5000.0, 12000.0)  # wires roll off well below a cymbal's sizzle
    p["noise_share"] = rng.uniform(0.2, 0.5) if rim else rng.uniform(0.35, 0.85)
    body = _modes(rng, p["f0"], p["modes"], p["body_ms"], p["bend"])
    noise = _noise(rng) * _decay(p["wires_ms"] / 1000.0, 0.001)
    if p["noise_filter"] == "highpass":
        noise = _pass(noise, "highpass", p["noise_hz"])
    else:
        noise = _bandpass(noise, p["noise_hz"] / 2.0, p["noise_hz"] * 2.0)
    noise = _pass(noise, "lowpass", p["noise_lowpass_hz"])
    x = (1.0 - p["noise_share"]) * _unit(body) + p["noise_share"] * _unit(noise)
    if rim:
        # Stick on rim: a bright ringing partial and a hard click.
        p["rim_hz"] = _lu(rng, 400.0, 1000.0)
        p["rim_ms"] = rng.uniform(20.0, 80.0)
        ping = np.sin(2.0 * np.pi * p["rim_hz"] * _T) * _decay(p["rim_ms"] / 1000.0)
        click = _pass(_noise(rng) * _decay(0.002), "highpass", 2000.0)
        x = x + rng.uniform(0.3, 0.8) * _unit(ping) + rng.uniform(0.2, 0.6) * _unit(click)
    _record(params, p)
    return _finish(x)


# ---------------------------------------------------------------- cymbal
def _metal(rng: np.random.Generator, scale: float) -> np.ndarray:
    """Six detuned band-limited squares at 808 ratios: a dense inharmonic spectrum."""
    freqs = _METAL_808 * scale * rng.uniform(0.97, 1.03, _METAL_808.size)
    return sum(_square(f, rng.random()) for f in freqs)


def synth_cymbal(rng: np.random.Generator, params: dict | None = None) -> np.ndarray:
    """Hats (closed/open), crashes and rides from 808 metal and/or noise, high-passed."""
    v = str(rng.choice(["closed_hat", "open_hat", "crash", "ride"], p=[0.3, 0.25, 0.25, 0.2]))
    p: dict = {"cls": "cymbal", "variant": v}
    p["metal_scale"] = _lu(rng, 0.8, 2.5)
    p["metal_share"] = rng.uniform(0.0, 1.0)
    if v in ("closed_hat", "open_hat"):
        p["decay_ms"] = rng.uniform(30.0, 120.0) if v == "closed_hat" else rng.uniform(200.0, 550.0)
        p["highpass_hz"] = _lu(rng, 3000.0, 8000.0)
        p["attack_ms"] = rng.uniform(0.1, 1.5)
    else:
        p["decay_ms"] = rng.uniform(800.0, 3000.0)
        p["highpass_hz"] = _lu(rng, 2000.0, 6000.0)
        p["attack_ms"] = rng.uniform(1.0, 10.0) if v == "crash" else rng.uniform(0.1, 2.0)
    p["lowpass_hz"] = _lu(rng, 12000.0, 19000.0)
    metal = _metal(rng, p["metal_scale"])
    src = p["metal_share"] * metal / np.std(metal) + (1.0 - p["metal_share"]) * _noise(rng)
    # 4th-order highpass: the metal's fundamentals (200-2000 Hz) must not read as a body.
    src = _pass(_pass(src, "highpass", p["highpass_hz"], 4), "lowpass", p["lowpass_hz"])
    x = src * _decay(p["decay_ms"] / 1000.0, p["attack_ms"] / 1000.0)
    if v == "ride":
        # Bell: a few inharmonic partials that ring longer than the wash, plus the stick ping.
        p["bell_hz"] = _lu(rng, 500.0, 1000.0)
        p["bell"] = rng.uniform(0.05, 0.3)
        ratios = np.array([1.0, 2.32, 3.15, 4.7, 6.2]) * rng.uniform(0.98, 1.02, 5)
        bell = sum(np.sin(2.0 * np.pi * p["bell_hz"] * r * _T + rng.random() * 6.28) / (1 + 0.3 * i)
                   for i, r in enumerate(ratios))
        bell = _pass(bell, "highpass", 1000.0) * _decay(rng.uniform(0.8, 2.0))
        ping = _pass(_noise(rng) * _decay(0.003), "highpass", 4000.0)
        x = _unit(x) + p["bell"] * _unit(bell) + rng.uniform(0.2, 0.6) * _unit(ping)
    _record(params, p)
    return _finish(x)


# ---------------------------------------------------------------- dispatch and sets
_SYNTHS = {"kick": synth_kick, "snare": synth_snare, "cymbal": synth_cymbal}


def synth(cls: str, rng: np.random.Generator, params: dict | None = None) -> np.ndarray:
    """One procedural one-shot of class ``cls`` (one of signal.CLASSES)."""
    if cls not in _SYNTHS:
        raise ValueError(f"cls must be one of {tuple(_SYNTHS)}, got {cls!r}")
    return _SYNTHS[cls](rng, params)


def synth_set(n_per_class: int, seed: int) -> tuple[np.ndarray, list[str], list[dict]]:
    """``n_per_class`` sounds of each class -> (audio [3n, N] float32, labels, params).

    Sound i of class c uses ``np.random.default_rng([seed, c, i])``, so it does
    not depend on n and can be re-rendered from its params' ``seed`` entry alone.
    """
    audio = np.empty((n_per_class * len(S.CLASSES), S.N_SAMPLES), dtype=np.float32)
    labels: list[str] = []
    params: list[dict] = []
    for ci, cls in enumerate(S.CLASSES):
        for i in range(n_per_class):
            p: dict = {"source": "synthetic", "seed": [seed, ci, i]}
            audio[len(labels)] = synth(cls, np.random.default_rng([seed, ci, i]), p)
            labels.append(cls)
            params.append(p)
    return audio, labels, params


# ---------------------------------------------------------------- sanity features
def sound_features(x: np.ndarray, low_hz: float = 150.0, drop_db: float = 30.0) -> dict[str, float]:
    """Spectral centroid (Hz), decay time (s from peak to -drop_db), energy ratio below low_hz.

    Coarse on purpose: they only check that the classes land where drums do.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    mag = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(x.size, 1.0 / SR)
    centroid = float(np.sum(freqs * mag) / max(np.sum(mag), 1e-12))
    power = mag ** 2
    low = float(np.sum(power[freqs < low_hz]) / max(np.sum(power), 1e-12))
    hop = 256
    n = x.size // hop
    env = 20.0 * np.log10(np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1)) + 1e-12)
    pk = int(np.argmax(env))
    below = np.flatnonzero(env[pk:] < env[pk] - drop_db)
    frames = int(below[0]) if below.size else n - pk
    return {"centroid_hz": centroid, "decay_s": frames * hop / SR, "low_ratio": low}
