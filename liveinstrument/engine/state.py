"""Pad and kit state: what a performer sets, how 0..1 controls map to sound, kit files.

A kit file is human-readable YAML (``kit.yaml``) with every pad's parameters,
latent vectors and the model hash; the pads' raw generator output lives next to
it (``kit_audio/padNN.wav``, one channel per round-robin slot, float32 at 44.1
kHz) so a saved kit sounds the same tomorrow, whatever weights are installed.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..atomic_write import write_atomic
from ..latent import orthonormal_pair as random_directions  # noqa: F401 (re-exported for the engine)
from ..signal import LATENT_DIM, N_CLASSES, sliders_to_classes

# Variation slider 0..1 -> alpha in [0, ALPHA_MAX]. |z| ~ 11 for z ~ N(0, I_128).
# Calibrated on the shipped G (benchmarks/calibrate_variation.py --n 48 --alphas 1 3 6 8 11 16 20;
# G f7dfd28baff59937, sitting 6): alpha 1 / 3 / 6 / 8 / 11 / 16 / 20 move the sound by a median LSD
# of 0.6 / 1.6 / 2.7 / 3.1 / 3.7 / 4.3 / 4.6 dB, and the evaluation classifier keeps 1.00 of the
# varied sounds in their class at every one. 16 keeps the full slider about as large a change as
# before (sitting 5's G moved 5.1 dB at 11): the same instrument, another take. (Each retrained G
# has moved less per unit of z than the one before.)
ALPHA_MAX = 16.0
# Round-robin 0..1 -> norm of the per-hit random z offset (0 = every hit identical).
RR_MAX_NORM = 3.0           # x1.45 with ALPHA_MAX (sitting 6): this G moves less per unit of z
TUNE_RANGE_ST = 12.0          # tune 0..1 -> -12..+12 semitones
GAIN_UNITY = 0.8              # gain control value that means 0 dB
GAIN_MAX_DB = 6.0             # gain 1.0 -> +6 dB
_GAIN_EXP = math.log(10 ** (GAIN_MAX_DB / 20)) / math.log(1.0 / GAIN_UNITY)

# Parameters that change the rendered audio (need the renderer) vs. the mixer only.
RENDER_PARAMS = frozenset({"kick", "snare", "cymbal", "variation", "variation_y",
                           "tune", "decay", "round_robin"})
MIXER_PARAMS = frozenset({"pan", "gain", "velocity_timbre"})

# General MIDI kit pieces for the first pads: the stand-in for the shipped designed kit
# (kits/gm-default/kit.yaml) where it is not installed.
GM_DEFAULT = (
    ("kick", 36, (1.0, 0.0, 0.0), 0), ("snare", 38, (0.0, 1.0, 0.0), 0),
    ("closed hat", 42, (0.0, 0.0, 1.0), 1), ("open hat", 46, (0.0, 0.0, 1.0), 1),
    ("crash", 49, (0.0, 0.0, 1.0), 0), ("ride", 51, (0.0, 0.2, 1.0), 0),
    ("low tom", 45, (0.7, 0.5, 0.0), 0), ("high tom", 48, (0.4, 0.7, 0.0), 0),
)


def gain_to_amp(g: float) -> float:
    """Gain control 0..1 -> linear amplitude: 0 -> silent, 0.8 -> 0 dB, 1 -> +6 dB."""
    return 0.0 if g <= 0.0 else float((g / GAIN_UNITY) ** _GAIN_EXP)


def pan_to_lr(p: float) -> tuple[float, float]:
    """Equal-power pan law (-3 dB in the centre, so stacked voices keep headroom)."""
    th = min(max(p, 0.0), 1.0) * math.pi / 2
    return math.cos(th), math.sin(th)


def tune_to_semitones(t: float) -> float:
    return (min(max(t, 0.0), 1.0) - 0.5) * 2.0 * TUNE_RANGE_ST


@dataclass
class Pad:
    """One pad: the paper's controls (soft classes, z_center, e1/e2, alpha/beta) and more."""
    name: str = "pad"
    note: int = 36
    kick: float = 0.0
    snare: float = 0.0
    cymbal: float = 0.0
    variation: float = 0.0        # alpha = variation * ALPHA_MAX
    variation_y: float = 0.5      # beta = (variation_y - 0.5) * 2 * ALPHA_MAX
    tune: float = 0.5
    decay: float = 1.0
    pan: float = 0.5
    gain: float = GAIN_UNITY
    velocity_timbre: float = 0.0
    round_robin: float = 0.25
    choke: int = 0                # 0 = none; pads sharing a group cut each other
    seed: int = 0                 # seeds this pad's round-robin offsets
    z_center: np.ndarray = field(default_factory=lambda: np.zeros(LATENT_DIM, np.float32))
    e1: np.ndarray = field(default_factory=lambda: np.eye(1, LATENT_DIM, 0, dtype=np.float32)[0])
    e2: np.ndarray = field(default_factory=lambda: np.eye(1, LATENT_DIM, 1, dtype=np.float32)[0])

    def z(self) -> np.ndarray:
        """z = z_center + alpha e1 + beta e2."""
        alpha = self.variation * ALPHA_MAX
        beta = (self.variation_y - 0.5) * 2.0 * ALPHA_MAX
        return (self.z_center + alpha * self.e1 + beta * self.e2).astype(np.float32)

    def classes(self) -> np.ndarray:
        return sliders_to_classes([self.kick, self.snare, self.cymbal])

    def params(self) -> dict[str, float]:
        from .commands import PAD_PARAMS
        return {k: float(getattr(self, k)) for k in PAD_PARAMS}

    # ------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        d = {"name": self.name, "note": int(self.note), **self.params(),
             "choke": int(self.choke), "seed": int(self.seed)}
        for k in ("z_center", "e1", "e2"):
            d[k] = [round(float(x), 7) for x in getattr(self, k)]
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "pad") -> "Pad":
        """A pad from a kit entry. A value of the wrong type, or a NaN/infinite one, is a
        ValueError naming ``where`` and the field; a control outside its range is clamped with
        one warning line; a missing field keeps its default."""
        pad = cls()
        for k, v in d.items():
            if k in ("z_center", "e1", "e2"):
                try:
                    a = np.asarray(v, dtype=np.float32).reshape(-1)
                except (TypeError, ValueError):
                    raise ValueError(f"{where}: '{k}' must be a list of {LATENT_DIM} numbers") from None
                if a.size != LATENT_DIM:
                    raise ValueError(f"{where}: '{k}' has {a.size} values, expected {LATENT_DIM}")
                if not np.isfinite(a).all():
                    raise ValueError(f"{where}: '{k}' holds NaN or infinite values")
                setattr(pad, k, a)
            elif k == "name":
                pad.name = str(v)[:64]
            elif hasattr(pad, k):
                setattr(pad, k, _kit_value(where, k, v, getattr(pad, k)))
        return pad


# the ranges a kit file's pad fields may take (unit controls are 0..1)
_INT_RANGE = {"note": (0, 127), "choke": (0, 64), "seed": (0, 2**31 - 1)}


def _kit_value(where: str, k: str, v, default):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{where}: '{k}' must be a number, got {v!r}")
    if not math.isfinite(float(v)):
        raise ValueError(f"{where}: '{k}' is {v!r}; give a number between 0 and 1")
    lo, hi = _INT_RANGE.get(k, (0.0, 1.0))
    if not lo <= v <= hi:
        import logging
        logging.getLogger(__name__).warning("%s: '%s' %r is outside %s..%s; clamped", where, k, v, lo, hi)
        v = min(max(v, lo), hi)
    return type(default)(v)


def _designed_kit_docs() -> list[dict]:
    """The shipped default kit's pad entries (``kits/gm-default/kit.yaml``, made by ``drumgan kit
    design``), or [] when it is not installed. Read once per file version."""
    from .. import paths
    f = paths.shipped_kits_dir() / paths.DEFAULT_KIT / paths.KIT_FILE
    try:
        key = (str(f), f.stat().st_mtime_ns)
    except OSError:
        return []
    if _DESIGNED.get("key") != key:
        doc = yaml.safe_load(f.read_text())
        _DESIGNED.update(key=key, pads=list(doc.get("pads", [])) if isinstance(doc, dict) else [])
    return _DESIGNED["pads"]


_DESIGNED: dict = {}


def default_kit(n_pads: int = 16, seed: int = 0) -> list[Pad]:
    """The engine's General MIDI kit.

    Seed 0 is the shipped designed kit (``kits/gm-default/kit.yaml``: pads that sound like their
    names, chosen by ``drumgan kit design``); another seed keeps its pads' names, notes, classes,
    decay, tune and chokes with fresh random sounds (z_center, variation directions). Pads past
    the kit's get random classes on the spare notes from 36. Without the shipped file the GM table
    above stands in for the designed pads.
    """
    rng = np.random.default_rng(seed)
    base = [Pad.from_dict({k: v for k, v in d.items() if k not in ("audio", "captured")})
            for d in _designed_kit_docs()]
    if not base:
        base = [Pad(name=name, note=note, kick=float(c[0]), snare=float(c[1]), cymbal=float(c[2]), choke=choke)
                for name, note, c, choke in GM_DEFAULT]
        seed = seed or -1                                  # no designed sounds: draw them all
    used = {p.note for p in base}
    spare = (n for n in range(36, 128) if n not in used)
    pads: list[Pad] = []
    for i in range(n_pads):
        e1, e2 = random_directions(rng)
        pad_seed = int(rng.integers(2**31))
        z = rng.standard_normal(LATENT_DIM).astype(np.float32)
        if i < len(base):
            pad = base[i]
            if seed != 0:
                pad.z_center, pad.e1, pad.e2, pad.seed = z, e1, e2, pad_seed
        else:
            cls_ = rng.uniform(0, 1, N_CLASSES)
            pad = Pad(name=f"pad {i + 1}", note=next(spare), kick=float(cls_[0]), snare=float(cls_[1]),
                      cymbal=float(cls_[2]), seed=pad_seed, z_center=z, e1=e1, e2=e2)
        pads.append(pad)
    return pads


# ---------------------------------------------------------------- kit files
KIT_VERSION = 1


def kit_audio_dir(path: str | Path) -> Path:
    """The folder a kit file keeps its audio in: ``<stem>_audio`` next to it."""
    p = Path(path)
    return p.with_name(p.stem + "_audio")


def write_kit_audio(audio_dir: Path, stem: str, data: np.ndarray) -> str:
    """Write ``data`` ([frames] or [frames, channels], float32) as ``<stem>-<hash>.wav`` in
    ``audio_dir`` unless that exact file is there already; its path relative to the kit file.
    Named by content, so a file a saved YAML points at is never rewritten."""
    from ..signal import SAMPLE_RATE
    blob = _wav_bytes(np.asarray(data, np.float32), SAMPLE_RATE)
    name = f"{stem}-{hashlib.sha256(blob).hexdigest()[:12]}.wav"
    if not (audio_dir / name).is_file():
        write_atomic(audio_dir / name, blob, 0o644)
    return f"{audio_dir.name}/{name}"


def raw_audio_stem(i: int) -> str:
    """File stem of pad ``i``'s (0-based) stored generator output."""
    return f"pad{i + 1:02d}"


def save_kit(path: str | Path, pads: list[Pad], model_hash: str, raw_audio: dict[int, np.ndarray],
             extra: dict | None = None, captured: dict[int, np.ndarray] | None = None) -> Path:
    """Write ``path`` (YAML) and ``<stem>_audio/padNN-<hash>.wav`` (raw slots, one channel each);
    ``captured`` (pad index -> mono audio a pad was analysed from) goes to ``captureNN-<hash>.wav``.
    For callers that hold the audio themselves; the live instrument has its renderer write the
    raw audio it owns (:func:`write_kit_audio`) and then calls :func:`write_kit_file`."""
    audio_dir = kit_audio_dir(path)
    audio_dir.mkdir(parents=True, exist_ok=True)
    names = {i: write_kit_audio(audio_dir, raw_audio_stem(i), np.asarray(a, np.float32).T)
             for i, a in raw_audio.items() if a is not None and i < len(pads)}
    return write_kit_file(path, pads, model_hash, names, write_captured(audio_dir, captured or {}), extra)


def write_captured(audio_dir: Path, captured: dict[int, np.ndarray]) -> dict[int, str]:
    """Write the captured input audio (pad index -> mono) into ``audio_dir``; pad -> relative path."""
    return {i: write_kit_audio(audio_dir, f"capture{i + 1:02d}", np.asarray(a, np.float32).reshape(-1))
            for i, a in captured.items() if a is not None}


def write_kit_file(path: str | Path, pads: list[Pad], model_hash: str, audio: dict[int, str],
                   captured: dict[int, str] | None = None, extra: dict | None = None) -> Path:
    """Write the kit YAML naming the audio files already written (:func:`write_kit_audio`:
    pad index -> path relative to the kit), then remove the audio files it no longer uses.

    Crash-safe: audio files are named by their content and written before the YAML, which
    replaces the old one in a single ``os.replace``; files the old YAML used are removed only
    after that. A crash at any point leaves the previous kit loadable, exactly as it was.
    """
    from ..signal import SAMPLE_RATE
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    captured = captured or {}
    entries = []
    for i, pad in enumerate(pads):
        d = pad.to_dict()
        if audio.get(i):
            d["audio"] = audio[i]
        if captured.get(i):
            d["captured"] = captured[i]
        entries.append(d)
    doc = {"drumgan_kit": KIT_VERSION, "model_hash": model_hash, "sample_rate": SAMPLE_RATE,
           **(extra or {}), "pads": entries}

    class _Dumper(yaml.SafeDumper):
        pass

    # latent vectors on one line each: the file stays scannable
    _Dumper.add_representer(list, lambda dm, v: dm.represent_sequence(
        "tag:yaml.org,2002:seq", v, flow_style=len(v) > 8 and all(isinstance(x, float) for x in v)))
    write_atomic(p, yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=10_000).encode(), 0o644)
    audio_dir = kit_audio_dir(p)
    used = {Path(r).name for r in (*audio.values(), *captured.values()) if r}
    for old in audio_dir.glob("*.wav"):      # what the replaced YAML used, now unreferenced
        if old.name not in used:
            old.unlink(missing_ok=True)
    return p


def _wav_bytes(data: np.ndarray, sample_rate: int) -> bytes:
    import io

    import soundfile as sf
    buf = io.BytesIO()
    sf.write(buf, data, sample_rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


MAX_KIT_PADS = 128          # shared memory is sized per pad: a kit may not ask for more


def load_kit(path: str | Path) -> tuple[list[Pad], str, dict[int, np.ndarray], dict]:
    """Read a kit: (pads, model_hash, raw slot audio per pad index [slots, N], whole doc).
    Every problem is one ValueError line naming the file, the pad and the field; stored audio
    must lie inside the kit's folder."""
    import soundfile as sf
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{p}: not valid YAML{at} ({getattr(exc, 'problem', None) or 'parse error'})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{p}: not a text file (a kit is a YAML file)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("pads"), list):
        raise ValueError(f"{p}: not a DrumGAN kit file (no 'pads' list)")
    if not 1 <= len(doc["pads"]) <= MAX_KIT_PADS:
        raise ValueError(f"{p}: a kit has 1 to {MAX_KIT_PADS} pads, this one {len(doc['pads'])}")
    folder = p.parent.resolve()
    pads, raw = [], {}
    for i, d in enumerate(doc["pads"]):
        where = f"{p.name}: pad {i + 1}"
        if not isinstance(d, dict):
            raise ValueError(f"{where}: expected a mapping of fields, got {type(d).__name__}")
        if isinstance(d.get("name"), str):
            where += f" ({d['name'][:32]})"
        pads.append(Pad.from_dict({k: v for k, v in d.items() if k not in ("audio", "captured")}, where))
        if d.get("audio"):
            f = _inside(folder, d["audio"], where, "audio")
            try:
                a, _ = sf.read(str(f), dtype="float32", always_2d=True)
            except Exception as exc:  # soundfile raises its own error type for unreadable files
                raise ValueError(f"{where}: audio {d['audio']!r} cannot be read ({exc})") from None
            raw[i] = np.ascontiguousarray(a.T)
    return pads, str(doc.get("model_hash", "")), raw, doc


def _inside(folder: Path, rel, where: str, what: str) -> Path:
    """``folder / rel`` if it stays inside ``folder`` (a kit's files never point outside it)."""
    f = (folder / str(rel)).resolve()
    if not f.is_relative_to(folder):
        raise ValueError(f"{where}: {what} path {rel!r} leaves the kit's folder")
    return f


def load_captured(path: str | Path, doc: dict) -> dict[int, np.ndarray]:
    """The captured input audio stored with a kit (pad index -> mono float32); missing files skipped."""
    import soundfile as sf
    out = {}
    for i, d in enumerate(doc.get("pads", [])):
        f = d.get("captured") if isinstance(d, dict) else None
        if not f:
            continue
        try:
            fp = _inside(Path(path).parent.resolve(), f, f"pad {i + 1}", "captured")
        except ValueError as exc:
            import logging
            logging.getLogger(__name__).warning("%s: %s (skipped)", path, exc)
            continue
        if fp.exists():
            a, _ = sf.read(str(fp), dtype="float32", always_2d=True)
            out[i] = a[:, 0].copy()
    return out
