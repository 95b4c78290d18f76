"""G's audio-domain training losses: class-conditional band-energy matching, the click penalty
and STFT consistency.

All act on G's sound as played (``gan.fake_audio``: the inverse of the model spectrum), so
they see what the critic, working on the compressed linear-frequency spectrum, barely can:

- the energy in the lowest octaves (below 125 Hz lie 5 of G's 1024 bins: 0.5 % of the
  critic's image, and after the power-law compression a -30 dB thump is only -9 dB);
- one-sample spikes (a click spreads thinly over all bins of one frame).

The band profile is the one ``drumgan eval gan`` reports (eval.metrics.spectral_balance:
octave bands of signal.OCTAVE_EDGES_HZ on a 2048 / 256 Hann STFT of each peak-normalised
sound, early = frames centred in the first 50 ms, late = 50-300 ms), computed in torch so
that it is differentiable; tests check that both give the same numbers.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import signal as S

BAND_FLOOR_DB = -100.0  # as eval.metrics.class_band_profile_db


def _band_matrix(device: torch.device) -> torch.Tensor:
    """[F, bands] 0/1: which rfft bin of the band STFT falls into which octave band."""
    m = torch.zeros(S.BAND_N_FFT // 2 + 1, len(S.OCTAVE_EDGES_HZ) - 1)
    for b in range(m.shape[1]):
        idx = torch.from_numpy(S.band_bins(S.OCTAVE_EDGES_HZ[b], S.OCTAVE_EDGES_HZ[b + 1]))
        m[idx, b] = 1.0
    return m.to(device)


def _segment_masks(n_frames: int, device: torch.device) -> torch.Tensor:
    """[2, T] averaging weights of the early and late frames (frame t centred on t * BAND_HOP)."""
    t = torch.arange(n_frames, dtype=torch.float64) * S.BAND_HOP / S.SAMPLE_RATE
    early, late = t < S.EARLY_S, (t >= S.EARLY_S) & (t < S.LATE_S)
    m = torch.stack([early, late]).float()
    return (m / m.sum(1, keepdim=True)).to(device)


def band_profile_db(audio: torch.Tensor) -> torch.Tensor:
    """Octave-band power of each sound in dB, early and late: [B, N] audio -> [B, 2, bands].

    Same definition as eval.metrics.spectral_balance's ``early_db`` / ``late_db`` (peak
    normalised, zero-padded centred Hann 2048 / 256 STFT, one-sided power per bin scaled to
    mean square), differentiable with respect to ``audio``.
    """
    x = audio.float()
    x = x / x.abs().amax(dim=1, keepdim=True).clamp_min(1e-9)
    w = torch.hann_window(S.BAND_N_FFT, device=x.device)
    spec = torch.stft(x, S.BAND_N_FFT, S.BAND_HOP, window=w, center=True, pad_mode="constant",
                      return_complex=True)                                   # [B, F, T]
    p = spec.real.square() + spec.imag.square()
    fold = torch.full((p.shape[1], 1), 2.0, device=x.device)
    fold[0], fold[-1] = 1.0, 1.0
    p = p * fold / (S.BAND_N_FFT * w.square().sum())
    per_band = torch.einsum("bft,fk->btk", p, _band_matrix(x.device))       # [B, T, bands]
    seg = torch.einsum("st,btk->bsk", _segment_masks(p.shape[-1], x.device), per_band)
    return 10.0 * torch.log10(seg.clamp_min(1e-20))


def class_band_profiles(profile_db: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-label-weighted class means of per-sound profiles [B, 2, bands] (floored at
    BAND_FLOOR_DB, mean in dB as the metric): ([classes, 2, bands], weight per class [classes])."""
    prof = profile_db.clamp_min(BAND_FLOOR_DB)
    w = c.float()                                                            # [B, classes]
    total = w.sum(0)
    return torch.einsum("bk,bsn->ksn", w, prof) / total.clamp_min(1e-6)[:, None, None], total


def band_loss(audio: torch.Tensor, c: torch.Tensor, target_db: torch.Tensor, beta_db: float = 1.0,
              min_weight: float = 1.0) -> torch.Tensor:
    """Class-conditional band-energy matching: per class, the soft-label-weighted mean band
    profile of G's sounds against the real one (``target_db`` [classes, 2, bands], see
    :func:`real_band_targets`), Huber in dB (quadratic within ``beta_db``), averaged over the
    classes that carry at least ``min_weight`` of the batch's label mass, the segments and bands.

    A class mean, not a per-sound target: G may (must) make sounds that differ from the
    average; only the class's typical spectrum is asked to be real's.
    """
    prof, mass = class_band_profiles(band_profile_db(audio), c)
    keep = mass >= min_weight
    if not bool(keep.any()):
        return audio.new_zeros(())
    err = F.smooth_l1_loss(prof[keep], target_db.to(prof.device)[keep], beta=beta_db, reduction="mean")
    return err


@torch.no_grad()
def real_band_targets(audio: torch.Tensor, c: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """The real set's soft-label-weighted class band profiles [classes, 2, bands] in dB."""
    prof = torch.cat([band_profile_db(audio[i:i + chunk]) for i in range(0, len(audio), chunk)])
    return class_band_profiles(prof, c)[0]


def click_loss(audio: torch.Tensor, width: int = S.CLICK_WIDTH, tau: float = S.CLICK_TAU,
               detrend: bool = False, floor_db: float = -60.0) -> torch.Tensor:
    """Penalise isolated spikes: samples whose power exceeds ``tau`` x the local mean power.

    The critic sees compressed spectra, where a one-sample click spreads thinly over all bins
    of one frame; G trained without this term put clicks at fixed positions (the same samples,
    the same sign, for every z), which gave its snares and cymbals a crest factor 5-6 dB above
    real ones. The local mean (``width`` samples, the sample itself included) is level-free,
    so the term is blind to loudness and to genuine attacks rising from silence.

    ``detrend`` measures each sample against its local trend first: the residual
    ``x[n] - (x[n-1] + x[n+1]) / 2`` (what a straight line through the neighbours does not
    explain). A low tone or a decaying thump has almost no residual, so a click riding on it
    stands out, where the raw power ratio hides it under the tone's own power; broadband
    cymbal noise keeps a noise-like residual whose ratio stays under ``tau``, so it is not
    punished. The residual's power is measured against the louder of the two half-windows
    (``width // 2`` samples before and after, the sample included): a spike has the same
    background on both sides, an attack from silence has its own sound on the right (a
    sound starting with a kink, e.g. a sine at phase 0, is not a click). Without ``detrend``
    the ratio is the one ``eval.metrics.click_count`` counts (symmetric window).

    Off by default: on this project's real training sounds the residual is spiky (recorded
    and sampled cymbals and snares carry sharp high-frequency grain), so the detrended term
    costs real cymbals about as much as G's (measured: mean 1.00 per real cymbal sample vs
    1.03 for a batch of G's sounds), i.e. it would punish realistic texture, not clicks.

    Only samples within ``floor_db`` of the sound's peak power count (as in click_count): the
    ratio is level-free, so its gradient grows as 1 / amplitude, and the inaudible speckle of
    a -80 dB tail would otherwise outweigh every audible click.
    """
    x = audio.float()
    p = x.detach().pow(2)
    audible = (p > p.amax(dim=1, keepdim=True) * 10.0 ** (floor_db / 10.0)).to(x.dtype)
    if not detrend:
        local = F.avg_pool1d(x.pow(2)[:, None], width, stride=1, padding=width // 2, count_include_pad=False)[:, 0]
        return (F.relu(x.pow(2) / (local + 1e-10) - tau) * audible).mean()
    xp = F.pad(x[:, None], (1, 1), mode="replicate")[:, 0]
    e = (x - 0.5 * (xp[:, :-2] + xp[:, 2:])).pow(2)
    # Against the louder of the two half-windows: a spike has noise (or silence) on both sides,
    # an onset from silence has its own sound on the right, which it is then measured against.
    h = width // 2
    n = e.shape[1]
    cs = F.pad(torch.cumsum(e, dim=1), (1, 0))
    i = torch.arange(n, device=e.device)
    lo, hi = (i - h).clamp_min(0), (i + h).clamp_max(n - 1)
    left = (cs[:, i + 1] - cs[:, lo]) / (i - lo + 1)
    right = (cs[:, hi + 1] - cs[:, i]) / (hi - i + 1)
    return (F.relu(e / (torch.maximum(left, right) + 1e-10) - tau) * audible).mean()


def consistency_loss(x: torch.Tensor, audio: torch.Tensor | None = None) -> torch.Tensor:
    """STFT consistency: ``||X - STFT(iSTFT(X))||^2 / ||X||^2`` per sound, averaged.

    G outputs a complex STFT (``signal.model_spec_to_stft``) that need not be the STFT of any
    waveform; what is played is its inverse. The shipped G's spectra are far off (0.54 of the
    kick's 30-150 Hz energy), but this term does not take the grain out: the nearest consistent
    spectrum keeps the frame-to-frame jumps G made (models/README.md, sitting 7), so the trainer
    has it off by default (``--consistency-weight``). Relative per sound (level-free), in the
    linear STFT domain. ``audio`` may pass ``signal.istft(x)`` when it is already at hand.
    """
    if audio is None:
        audio = S.istft(x)
    err = (x - S.stft(audio)).abs().square().sum((-2, -1))
    return (err / x.abs().square().sum((-2, -1)).clamp_min(1e-12)).mean()


def _band_stft_power(audio: torch.Tensor) -> torch.Tensor:
    """One-sided power per bin of the band STFT (2048 / 256, zero-padded, centred) of each
    peak-normalised sound, scaled to mean square: [B, N] -> [B, F, T] (as the metrics')."""
    x = audio.float()
    x = x / x.abs().amax(dim=1, keepdim=True).clamp_min(1e-9)
    w = torch.hann_window(S.BAND_N_FFT, device=x.device)
    spec = torch.stft(x, S.BAND_N_FFT, S.BAND_HOP, window=w, center=True, pad_mode="constant",
                      return_complex=True)
    p = spec.real.square() + spec.imag.square()
    fold = torch.full((p.shape[1], 1), 2.0, device=x.device)
    fold[0], fold[-1] = 1.0, 1.0
    return p * fold / (S.BAND_N_FFT * w.square().sum())


def low_band_roughness_db(audio: torch.Tensor, span_db: float = 40.0) -> torch.Tensor:
    """How unevenly each sound's 30-150 Hz band (signal.LOW_BAND_HZ) moves from one 5.8 ms frame
    to the next: [B, N] audio -> [B] dB, differentiable.

    The band's power per frame in dB, over the frames the grain metric looks at (from the
    loudest frame in the first LATE_S onwards, while within ``span_db`` of it), and the mean
    |second difference| there: a level that rises or decays smoothly (any straight line in dB,
    a resonance's exponential decay) gives ~0, a level that jumps from frame to frame does not.
    The metric (eval.metrics.spectral_balance's ``low_graininess_db``) takes first differences
    after a quadratic fit; this is its local, differentiable counterpart (same frames, same band).
    """
    p = _band_stft_power(audio)
    bins = torch.from_numpy(S.band_bins(*S.LOW_BAND_HZ)).to(p.device)
    last = int(torch.searchsorted(torch.arange(p.shape[-1], dtype=torch.float64) * S.BAND_HOP / S.SAMPLE_RATE,
                                  torch.tensor(S.LATE_S, dtype=torch.float64)))
    e = p[:, bins, :last].sum(1)                                               # [B, T]
    with torch.no_grad():
        k = e.argmax(1, keepdim=True)
        t = torch.arange(e.shape[1], device=e.device)[None]
        loud = e >= e.gather(1, k) * 10.0 ** (-span_db / 10.0)
        active = torch.cumprod((loud | (t < k)).to(torch.int32), dim=1).bool() & (t >= k)
        m = (active[:, 2:] & active[:, 1:-1] & active[:, :-2]).float()
    d = 10.0 * torch.log10(e.clamp_min(1e-20))
    dd = (d[:, 2:] - 2.0 * d[:, 1:-1] + d[:, :-2]).abs()
    return (dd * m).sum(1) / m.sum(1).clamp_min(1.0)


def envelope_loss(audio: torch.Tensor, c: torch.Tensor, target_db: torch.Tensor,
                  min_weight: float = 1.0) -> torch.Tensor:
    """Per class, the soft-label-weighted mean :func:`low_band_roughness_db` of G's sounds above
    the real one (``target_db`` [classes], :func:`real_envelope_targets`), squared; one-sided
    (a smoother low band than real's costs nothing), averaged over the classes that carry at
    least ``min_weight`` of the batch's label mass.

    Nothing else in G's objective sees this: the critic's image holds the lowest octaves in
    5 of 1,024 bins, the moment matching pools 4 frames x 16 bins into one cell, the band loss
    averages 50 ms windows; G's kick lows jumped by 6.4 dB per frame of its own (real 1.4).
    """
    r = low_band_roughness_db(audio)
    w = c.float()
    mass = w.sum(0)
    keep = mass >= min_weight
    if not bool(keep.any()):
        return audio.new_zeros(())
    mean = (w * r[:, None]).sum(0) / mass.clamp_min(1e-6)
    return F.relu(mean - target_db.to(mean.device))[keep].square().mean()


@torch.no_grad()
def real_envelope_targets(audio: torch.Tensor, c: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """The real set's soft-label-weighted class means of :func:`low_band_roughness_db` [classes]."""
    r = torch.cat([low_band_roughness_db(audio[i:i + chunk]) for i in range(0, len(audio), chunk)])
    w = c.float()
    return (w * r[:, None]).sum(0) / w.sum(0).clamp_min(1e-6)
