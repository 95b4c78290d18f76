"""Design a kit whose pads sound like their names (issue #14).

Each General MIDI pad has a *role* (closed hat, ride, low tom, ...) with targets: the -40 dB
decay time, brightness (spectral centroid of the first 100 ms), pitch (toms, kick) and the
sub-100 Hz share, taken from real reference hits of that role in the training data (the
instrument names of ``data/real.npz``; the unseen test kit is never used) or from the
figures below, measured that way. For every pad a few dozen latent vectors are drawn with the
role's classes; each candidate's decay (and, for pitched roles, tune) is set to meet the
targets through the engine's own shaping (``engine.dsp.shape_hit``), and the candidate whose
shaped hit is nearest the targets and most clearly of its class (the soft-label classifier)
wins.

Besides the targets, a pad must be *heard in a groove*: a soft kick or snare (velocity 35)
played a 32nd or a 16th after a hat or ride (velocity 90) has to rise out of that cymbal's
tail, as the capture's onset detector (``capture.onset``) hears it. So the cymbals (the
maskers) are chosen first, and the ghost-note roles are scored by their worst margin over
the chosen cymbals' tails (:func:`ghost_margin_db`). The attack's brightness (the share of
the first 10 ms above 1.5 kHz: a kick's beater click, a snare's crack) is a target of its
own: a kick with the cleanest low tone but no click (what the tone-share term alone prefers)
vanishes under any cymbal's tail.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .. import signal as S
from ..capture.onset import HighPass, OnsetDetector
from ..engine import dsp
from ..engine.state import Pad, TUNE_RANGE_ST, random_directions
from ..eval import metrics as M

# Decay control values tried for each candidate (dsp.decay_envelope: tau = 0.01 + 0.49 d^2 s).
DECAY_GRID = (1.0, 0.8, 0.65, 0.5, 0.4, 0.32, 0.26, 0.21, 0.17, 0.14)
PITCH_TUNE_MAX_ST = 7.0   # tape-style tuning stretches the attack too: a tuned drum moves at most this
# A cymbal's sub-bass boom masks the kick and toms under it (issue #14), so excess sub-100 Hz
# share costs as much per SUB_TOL_DB as an octave of brightness.
SUB_TOL_DB = 3.0
POOL_FACTOR = 4           # latents drawn per candidate kept for the full search
ATTACK_MAX_S = 0.008      # real references of every role reach their peak within 8 ms (median)
CLOSED_HAT_MAX_S = 0.12   # issue #14: a closed hat is gone (-40 dB) well inside 150 ms
CLICK_SPLIT_HZ = 1500.0   # attack brightness: share of the first CLICK_WINDOW_S's energy above this
CLICK_WINDOW_S = 0.010
CLICK_TOL_DB = 6.0        # attack brightness off by this costs as much as an octave of brightness
# Ghost notes: velocity 35 after a velocity-90 cymbal, a 32nd / a 16th later at 100 BPM,
# amplitude velocity ** VELOCITY_CURVE as the mixer plays them (engine.mixer.Mixer's default curve).
GHOST_VELOCITY, MASKER_VELOCITY, VELOCITY_CURVE = 35 / 127, 90 / 127, 1.5
GHOST_LAGS_S = (0.075, 0.15)
GHOST_MIN_DB = 25.0       # onset strength over the detector's threshold a ghost note should keep
GHOST_WEIGHT = 4.0        # a ghost note at the threshold costs 4x an octave of brightness


@dataclass(frozen=True)
class Role:
    """One pad's part in the kit and what it should sound like."""
    name: str
    note: int
    classes: tuple[tuple[float, float, float], ...]   # c options the candidates are drawn with
    judge: tuple[int, ...]                              # classifier classes that count as right
    t40_s: float                                        # -40 dB decay time
    centroid_hz: float                                  # brightness
    pitch_hz: float | None = None                       # tuned roles only
    sub_db: float | None = None                         # most sub-100 Hz share allowed (dB)
    choke: int = 0
    pattern: str = ""                                   # instrument-name regex of real references
    labels: tuple[int, ...] = ()                        # their label (0-2 classes, 3 other)
    pitch_quantile: float = 0.5                         # where in the references' pitch range
    rank: int = 0                                       # 1: the second-best candidate (a 2nd snare)
    family: str = ""                                    # pads that are one drum tuned in steps
    step_st: float = 0.0                                # this pad's tune in that family (semitones)
    click_db: float | None = None                       # attack brightness (attack_brightness_db)
    ghost: bool = False                                 # played soft after cymbals: must stand out of them
    masker: bool = False                                # a cymbal whose tail ghost notes follow


# Toms are one drum (the family's base, pitched at the real toms' median) tuned in steps, as a
# real kit's toms are: their order by pitch is then the order of their notes.
# Targets: medians of the real reference hits per role in the training kits (train + other
# splits, never the test kit), `drumgan kit design --data data/real.npz --print-targets`
# on 2026-12-07. Closed and pedal hats are held shorter than their references (0.20 s / 0.28 s)
# so that a closed hat chokes the groove's hat tail before the next soft hit.
ROLES: tuple[Role, ...] = (
    Role("kick", 36, ((1, 0, 0),), (0,), 0.28, 121, 60, None, 0, r"kick|bass drum", (0,), 0.5, click_db=-21.1, ghost=True),
    Role("snare", 38, ((0, 1, 0),), (1,), 0.26, 689, None, -26.6, 0, r"snare", (1,), click_db=-8.9, ghost=True),
    Role("closed hat", 42, ((0, 0, 1),), (2,), 0.09, 6737, None, -32.5, 1, r"closed|hh ?c|chh", (2,), click_db=-0.3, masker=True),
    Role("open hat", 46, ((0, 0, 1),), (2,), 0.55, 5385, None, -39.0, 1, r"open|ohh", (2,), click_db=-1.2),
    Role("crash", 49, ((0, 0, 1),), (2,), 0.55, 3971, None, -32.4, 0, r"crash", (2,), click_db=-1.5),
    Role("ride", 51, ((0, 0.15, 0.85), (0, 0, 1)), (2,), 0.55, 4804, None, -29.9, 0, r"ride", (2,), click_db=-0.2, masker=True),
    Role("low tom", 45, ((0.7, 0.3, 0), (0.5, 0.5, 0), (0.85, 0.15, 0)), (0, 1), 0.45, 289, 110, -13.0, 0, r"tom", (3, 0), family="tom", step_st=-3.0, click_db=-11.0),
    Role("high tom", 48, ((0.7, 0.3, 0), (0.5, 0.5, 0), (0.85, 0.15, 0)), (0, 1), 0.45, 289, 110, -13.0, 0, r"tom", (3, 0), family="tom", step_st=1.0, click_db=-11.0),
    Role("side stick", 37, ((0, 1, 0),), (1,), 0.12, 1242, None, -18.4, 0, r"stick|rim", (3, 1), click_db=-5.6, ghost=True),
    Role("hand clap", 39, ((0, 0.7, 0.3), (0, 0.85, 0.15)), (1, 2), 0.2, 2048, None, -28.0, 0, r"clap", (3,), click_db=-2.2),
    Role("electric snare", 40, ((0, 1, 0),), (1,), 0.2, 1000, None, -26.6, 0, r"snare", (1,), 0.5, 1, click_db=-8.9, ghost=True),
    Role("low floor tom", 41, ((0.7, 0.3, 0), (0.5, 0.5, 0), (0.85, 0.15, 0)), (0, 1), 0.45, 289, 110, -13.0, 0, r"tom", (3, 0), family="tom", step_st=-7.0, click_db=-11.0),
    Role("high floor tom", 43, ((0.7, 0.3, 0), (0.5, 0.5, 0), (0.85, 0.15, 0)), (0, 1), 0.45, 289, 110, -13.0, 0, r"tom", (3, 0), family="tom", step_st=-5.0, click_db=-11.0),
    Role("pedal hat", 44, ((0, 0, 1),), (2,), 0.12, 4903, None, -21.0, 1, r"pedal", (2, 3), click_db=-2.7, masker=True),
    Role("low-mid tom", 47, ((0.7, 0.3, 0), (0.5, 0.5, 0), (0.85, 0.15, 0)), (0, 1), 0.45, 289, 110, -13.0, 0, r"tom", (3, 0), family="tom", step_st=-1.0, click_db=-11.0),
    Role("top tom", 50, ((0.7, 0.3, 0), (0.5, 0.5, 0), (0.85, 0.15, 0)), (0, 1), 0.45, 289, 110, -13.0, 0, r"tom", (3, 0), family="tom", step_st=3.0, click_db=-11.0),
)
SHORT_ROLES = {"closed hat": CLOSED_HAT_MAX_S, "pedal hat": 0.15, "side stick": 0.15}


def attack_brightness_db(audio: np.ndarray, sr: int = S.SAMPLE_RATE) -> np.ndarray:
    """Share of each ``[n, samples]`` hit's first 10 ms of energy above 1.5 kHz, dB: a kick's
    beater click, a snare's crack (real kicks: median -21 dB; G's cleanest-toned kicks: -60)."""
    a = np.atleast_2d(np.asarray(audio, np.float64))[:, :int(CLICK_WINDOW_S * sr)]
    p = np.abs(np.fft.rfft(a, axis=1)) ** 2
    f = np.fft.rfftfreq(a.shape[1], 1.0 / sr)
    return 10 * np.log10(np.maximum(p[:, f >= CLICK_SPLIT_HZ].sum(1), 1e-30) / np.maximum(p.sum(1), 1e-30))


def _ghost_level(x: np.ndarray, velocity: float) -> np.ndarray:
    return (x * np.float32(velocity ** VELOCITY_CURVE)).astype(np.float32)


def ghost_margin_db(ghost: np.ndarray, maskers: list[np.ndarray], lags_s: tuple[float, ...] = GHOST_LAGS_S,
                    sr: int = S.SAMPLE_RATE) -> float:
    """How clearly a soft hit stands out of a cymbal's tail: ``ghost`` at velocity 35 starting
    ``lag`` after each masker at velocity 90, mixed, run through the capture's streaming onset
    detector; the detector's strength minus its threshold (dB) at its best hop within 25 ms of
    the ghost's start, worst case over maskers and lags. Below 0 the ghost is not heard at all;
    with no maskers, +inf."""
    worst = np.inf
    g = _ghost_level(ghost, GHOST_VELOCITY)
    for m in maskers:
        mk = _ghost_level(m, MASKER_VELOCITY)
        for lag in lags_s:
            at = int(round(lag * sr))
            n = at + int(0.03 * sr)
            mix = np.zeros(n, np.float32)
            mix[:min(n, mk.size)] += mk[:n]
            mix[at:] += g[:n - at]
            hp, det = HighPass(sr), OnsetDetector(sr)
            best, pos = -np.inf, 0
            for i in range(0, n - det.hop + 1, det.hop):
                det.process(hp(mix[i:i + det.hop]))
                if at <= i < at + int(0.025 * sr):
                    best = max(best, det.last_strength - det.last_threshold)
            worst = min(worst, best)
    return float(worst)


def reference_targets(data: dict, roles: tuple[Role, ...] = ROLES) -> tuple[tuple[Role, ...], dict]:
    """Roles with their targets re-measured on real reference hits (instrument names matching
    each role's pattern, labels matching, never the test split); and a report per role."""
    names = np.array([str(s).lower() for s in data["instrument"]])
    usable = data["split"] != "test"
    out, report = [], {}
    for r in roles:
        sel = usable & np.isin(data["label"], r.labels) & np.array([bool(re.search(r.pattern, s)) for s in names])
        if sel.sum() < 3:
            out.append(r)
            continue
        a = data["audio"][sel]
        t40 = float(np.median(M.decay_time_s(a)))
        t40 = min(t40, SHORT_ROLES.get(r.name, t40))
        cent = float(np.median(M.spectral_centroid_hz(a)))
        sub = float(np.median(10 * np.log10(np.maximum(M.spectral_balance(a)["sub_share"], 1e-8))))
        click = float(np.median(attack_brightness_db(a)))
        pitch = (float(np.quantile(M.pitch_hz(a), 0.5 if r.family else r.pitch_quantile))
                 if r.pitch_hz is not None else None)
        if r.rank:  # a second instance of a role: same references, a brighter, shorter one
            cent, t40 = cent * 1.45, t40 * 0.8
        new = replace(r, t40_s=round(t40, 3), centroid_hz=round(cent), pitch_hz=None if pitch is None else round(pitch, 1),
                      sub_db=None if r.sub_db is None else round(sub, 1),
                      click_db=None if r.click_db is None else round(click, 1))
        out.append(new)
        report[r.name] = {"n_references": int(sel.sum()), "t40_s": new.t40_s, "centroid_hz": new.centroid_hz,
                          "pitch_hz": new.pitch_hz, "sub_db": new.sub_db, "click_db": new.click_db}
    return tuple(out), report


@dataclass
class Choice:
    """The winning candidate of one role and what its shaped hit measures."""
    role: Role
    z: np.ndarray
    c: np.ndarray
    decay: float
    tune_st: float
    score: float
    measured: dict = field(default_factory=dict)
    hit: np.ndarray | None = None      # the shaped hit (slot 0) the measures are of


def _fit(x: np.ndarray) -> np.ndarray:
    out = np.zeros(S.N_SAMPLES, np.float32)
    n = min(x.size, S.N_SAMPLES)
    out[:n] = x[:n]
    return out


def _shape(raw: np.ndarray, tune_st: float, decay: float) -> np.ndarray:
    return dsp.shape_hit(raw, tune_st, decay, S.SAMPLE_RATE, dsp.max_hit_len(S.SAMPLE_RATE, S.N_SAMPLES))


def _pitch(role: Role, hits: np.ndarray, around_hz: float | None = None, octaves: float = 1.0) -> np.ndarray:
    """The body tone within ``octaves`` of ``around_hz`` (default: the role's target pitch; a
    snare-like mix also has a strong ~240 Hz mode that a low tom must not be tuned by)."""
    centre = around_hz or role.pitch_hz
    if centre is None:
        return M.pitch_hz(hits)
    return M.pitch_hz(hits, fmin=centre * 2.0 ** -octaves, fmax=centre * 2.0 ** octaves)


def _measure(role: Role, hits: np.ndarray, pitch_around_hz: float | None = None) -> dict[str, np.ndarray]:
    bal = M.spectral_balance(hits)
    return {"t40_s": M.decay_time_s(hits), "centroid_hz": M.spectral_centroid_hz(hits),
            "pitch_hz": _pitch(role, hits, pitch_around_hz, 0.5 if pitch_around_hz else 1.0), "attack_s": M.attack_time_s(hits),
            "sub_db": 10 * np.log10(np.maximum(bal["sub_share"], 1e-8)), "click_db": attack_brightness_db(hits),
            "kick_tone_share": bal["kick_tone_share"], "low_graininess_db": bal["low_graininess_db"]}


def score_hits(role: Role, m: dict[str, np.ndarray], probs: np.ndarray) -> np.ndarray:
    """Lower is better: squared log-distance to the role's targets (decay time and brightness
    in octaves, pitch in octaves, attack brightness per CLICK_TOL_DB), the classifier's doubt,
    excess sub-bass, and for kicks a tone that is not clean (kick-tone share below 1,
    graininess), a slow attack."""
    s = 2.0 * np.log2(np.maximum(m["t40_s"], 1e-3) / role.t40_s) ** 2
    s += np.log2(np.maximum(m["centroid_hz"], 1.0) / role.centroid_hz) ** 2
    if role.pitch_hz is not None:
        s += 4.0 * np.log2(np.maximum(m["pitch_hz"], 1.0) / role.pitch_hz) ** 2
    s += -np.log(probs[:, list(role.judge)].sum(1) + 1e-3)
    if role.sub_db is not None:
        s += (np.maximum(m["sub_db"] - role.sub_db, 0.0) / SUB_TOL_DB) ** 2
    if role.click_db is not None:
        s += ((m["click_db"] - role.click_db) / CLICK_TOL_DB) ** 2
    if role.name == "kick":
        s += 4.0 * (1.0 - np.nan_to_num(m["kick_tone_share"], nan=0.0)) + 0.5 * np.nan_to_num(m["low_graininess_db"], nan=3.0)
    s += 2.0 * (np.maximum(m["attack_s"] - ATTACK_MAX_S, 0.0) / ATTACK_MAX_S) ** 2
    return s


@dataclass
class Candidates:
    """One role's searched candidates: latents, shaped hits and what they measure."""
    role: Role
    z: np.ndarray
    c: np.ndarray
    hits: np.ndarray
    decays: list[float]
    tunes: list[float]
    measured: dict[str, np.ndarray]
    probs: np.ndarray
    scores: np.ndarray          # score_hits plus the tuning cost


def draw_candidates(role: Role, generate: Callable[[np.ndarray, np.ndarray], np.ndarray], probs_of,
                    rng: np.random.Generator, n_candidates: int = 48, tunable: bool = True) -> Candidates:
    """``POOL_FACTOR x n_candidates`` latents drawn for ``role``, the ``n_candidates`` nearest
    the targets on the raw sound kept; per candidate the decay (and tune) that meet the targets
    best through the engine's shaping, and its :func:`score_hits`."""
    # a pool 4x larger, cut down by the cheap raw measures (sub-bass, brightness, attack) first:
    # most of G's cymbals carry a low thump (issue #14), the few clean ones are worth finding
    n_pool = POOL_FACTOR * n_candidates
    z = rng.standard_normal((n_pool, S.LATENT_DIM)).astype(np.float32)
    opts = np.asarray(role.classes, np.float32)
    c = S.sliders_to_classes(opts[np.arange(n_pool) % len(opts)])
    raw = np.concatenate([generate(z[i:i + 64], c[i:i + 64]) for i in range(0, n_pool, 64)])
    pre = (np.log2(np.maximum(M.spectral_centroid_hz(raw), 1.0) / role.centroid_hz) ** 2
           + (np.maximum(M.attack_time_s(raw) - ATTACK_MAX_S, 0.0) / ATTACK_MAX_S) ** 2)
    if role.sub_db is not None:
        sub = 10 * np.log10(np.maximum(M.spectral_balance(raw)["sub_share"], 1e-8))
        pre += (np.maximum(sub - role.sub_db, 0.0) / SUB_TOL_DB) ** 2
    keep = np.argsort(pre)[:n_candidates]
    z, c, raw = z[keep], c[keep], raw[keep]
    hits, decays, tunes = [], [], []
    for i in range(len(keep)):
        tune = 0.0
        if role.pitch_hz is not None and tunable:
            p0 = float(_pitch(role, _fit(_shape(raw[i], 0.0, 1.0))[None])[0])
            tune = float(np.clip(12.0 * np.log2(role.pitch_hz / max(p0, 1.0)), -PITCH_TUNE_MAX_ST, PITCH_TUNE_MAX_ST))
        grid = np.stack([_fit(_shape(raw[i], tune, d)) for d in DECAY_GRID])
        err = np.abs(np.log2(np.maximum(M.decay_time_s(grid), 1e-3) / role.t40_s))
        if role.name in SHORT_ROLES:  # a hard ceiling, not just a target
            err = err + 10.0 * (M.decay_time_s(grid) > SHORT_ROLES[role.name])
        k = int(np.argmin(err))
        hits.append(grid[k])
        decays.append(DECAY_GRID[k])
        tunes.append(tune)
    hits_a = np.stack(hits)
    m = _measure(role, hits_a)
    pr = probs_of(hits_a)
    # tape-style tuning stretches the attack with the pitch: prefer sounds that need little
    scores = score_hits(role, m, pr) + 0.5 * (np.asarray(tunes) / TUNE_RANGE_ST) ** 2
    return Candidates(role, z, c, hits_a, decays, tunes, m, pr, scores)


def _ghost_cost(margin_db: np.ndarray) -> np.ndarray:
    return GHOST_WEIGHT * (np.maximum(GHOST_MIN_DB - margin_db, 0.0) / GHOST_MIN_DB) ** 2


def pick(cands: Candidates, maskers: list[np.ndarray] | None = None,
         ghosts: list[np.ndarray] | None = None) -> Choice:
    """The candidate with the lowest score. A ghost-note role also pays for standing out too
    little of the ``maskers``' tails, a masker for hiding the ``ghosts`` (ghost notes played
    after it) too much: :func:`ghost_margin_db` below GHOST_MIN_DB."""
    role, m, scores = cands.role, dict(cands.measured), cands.scores
    if role.ghost and maskers:
        m["ghost_margin_db"] = np.array([ghost_margin_db(h, maskers) for h in cands.hits])
        scores = scores + _ghost_cost(m["ghost_margin_db"])
    elif role.masker and ghosts:
        m["ghost_margin_db"] = np.array([min(ghost_margin_db(g, [h]) for g in ghosts) for h in cands.hits])
        scores = scores + _ghost_cost(m["ghost_margin_db"])
    order = np.argsort(scores)
    best = int(order[min(role.rank, len(order) - 1)])
    measured = {k: float(v[best]) for k, v in m.items()}
    measured["class_probs"] = [round(float(p), 3) for p in cands.probs[best]]
    return Choice(role, cands.z[best], cands.c[best], cands.decays[best], cands.tunes[best], float(scores[best]),
                  measured, cands.hits[best])


def design_role(role: Role, generate: Callable[[np.ndarray, np.ndarray], np.ndarray], probs_of,
                rng: np.random.Generator, n_candidates: int = 48, tunable: bool = True,
                maskers: list[np.ndarray] | None = None) -> Choice:
    """Search latents for ``role`` (:func:`draw_candidates`) and :func:`pick` the best."""
    return pick(draw_candidates(role, generate, probs_of, rng, n_candidates, tunable), maskers=maskers)


def pads_from_choices(choices: list[Choice], seed: int = 0) -> list[Pad]:
    """Engine pads for the chosen sounds (GM notes, chokes; variation directions seeded)."""
    rng = np.random.default_rng(seed)
    pads = []
    for ch in choices:
        e1, e2 = random_directions(rng)
        tune = 0.5 + ch.tune_st / (2.0 * TUNE_RANGE_ST)
        pads.append(Pad(name=ch.role.name, note=ch.role.note, kick=float(ch.c[0]), snare=float(ch.c[1]),
                        cymbal=float(ch.c[2]), tune=round(float(tune), 4), decay=float(ch.decay),
                        choke=ch.role.choke, seed=int(rng.integers(2**31)), z_center=ch.z, e1=e1, e2=e2))
    return pads


def tuned_member(base: Choice, role: Role, generate, probs_of) -> Choice:
    """A family member: the base drum at ``role.step_st`` semitones, measured as shaped (its
    pitch near the base's, moved by the step)."""
    raw = generate(base.z[None], base.c[None])[0]
    hit = _fit(_shape(raw, role.step_st, base.decay))[None]
    expect = base.measured["pitch_hz"] * 2.0 ** (role.step_st / 12.0)
    m = _measure(role, hit, pitch_around_hz=expect)
    measured = {k: float(v[0]) for k, v in m.items()}
    measured["class_probs"] = [round(float(p), 3) for p in probs_of(hit)[0]]
    return Choice(role, base.z, base.c, base.decay, role.step_st, base.score, measured, hit[0])


def design_kit(generate, probs_of, roles: tuple[Role, ...] = ROLES, seed: int = 0, n_candidates: int = 48,
               progress: Callable[[str], None] | None = None) -> list[Choice]:
    """One :class:`Choice` per role (in ``roles``' order), each searched with its own seeded
    draw; a family's base drum is searched once (untuned, at the family's pitch) and tuned for
    each member. Ghost notes and the cymbals they follow are chosen for each other: the ghost
    roles first on their own targets, then the maskers (hats, ride) scored also by how well
    those ghosts stand out of their tails, then the ghosts again against the chosen maskers."""
    out: dict[int, Choice] = {}
    bases: dict[str, Choice] = {}
    cands: dict[int, Candidates] = {}

    def done(i: int) -> None:
        if progress:
            progress(roles[i].name)

    for i, role in enumerate(roles):
        if not role.family:
            cands[i] = draw_candidates(role, generate, probs_of, np.random.default_rng([seed, i]), n_candidates)
    ghost_ids = [i for i, r in enumerate(roles) if r.ghost and not r.family]
    masker_ids = [i for i, r in enumerate(roles) if r.masker and not r.family]
    ghosts = [pick(cands[i]).hit for i in ghost_ids]
    for i in masker_ids:
        out[i] = pick(cands[i], ghosts=ghosts)
        done(i)
    maskers = [out[i].hit for i in masker_ids]
    for i, role in enumerate(roles):
        if i in out:
            continue
        if role.family:
            if role.family not in bases:
                base_role = replace(role, name=f"{role.family} (base)")
                bases[role.family] = design_role(base_role, generate, probs_of, np.random.default_rng([seed, i]),
                                                 n_candidates, tunable=False)
            out[i] = tuned_member(bases[role.family], role, generate, probs_of)
        else:
            out[i] = pick(cands[i], maskers=maskers)
        done(i)
    return [out[i] for i in range(len(roles))]
