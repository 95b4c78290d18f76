"""Pictures and pages for people: spectrogram PNGs and the HTML listening page."""
from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import torch

from .. import signal as S


def _colormap(v: np.ndarray) -> np.ndarray:
    """A perceptually ordered dark-blue -> magenta -> yellow map for values in [0, 1] -> RGB uint8."""
    stops = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99],
                      [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float32)
    x = np.clip(v, 0, 1) * (len(stops) - 1)
    i = np.minimum(x.astype(int), len(stops) - 2)
    f = (x - i)[..., None]
    return (stops[i] * (1 - f) + stops[i + 1] * f).astype(np.uint8)


def spectrogram_image(audio: np.ndarray, height: int = 256, floor_db: float = -80.0) -> np.ndarray:
    """[N] audio -> RGB uint8 [height, frames*4, 3], log-frequency axis, dB relative to peak."""
    mag = S.stft(torch.from_numpy(np.asarray(audio, np.float32))[None]).abs()[0].numpy()
    db = 20 * np.log10(mag / max(mag.max(), 1e-9) + 1e-12)
    # Log-spaced rows so kicks are not squashed into the bottom few pixels.
    f = np.geomspace(1, S.N_BINS - 1, height).astype(int)
    img = (np.clip(db[f], floor_db, 0) - floor_db) / -floor_db
    img = np.repeat(img[::-1], 4, axis=1)
    return _colormap(img)


def spectrogram_png(audio: np.ndarray, path: str | Path, cols: int = 3) -> None:
    """Save one PNG with the spectrograms of a batch [n, N] in a grid."""
    from PIL import Image

    audio = np.atleast_2d(audio)
    tiles = [spectrogram_image(a) for a in audio]
    h, w, _ = tiles[0].shape
    rows = (len(tiles) + cols - 1) // cols
    grid = np.zeros((rows * (h + 4), cols * (w + 4), 3), dtype=np.uint8)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        grid[r * (h + 4):r * (h + 4) + h, c * (w + 4):c * (w + 4) + w] = t
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(str(path))


def band_profile_svg(balance: dict, width: int = 330, height: int = 220) -> str:
    """Inline SVG: per class, the octave-band profile of generated (solid) and real (dashed)
    sounds, early (first 50 ms, orange) and late (50-300 ms, blue), on one log-frequency axis
    (band centres) and one dB axis for every panel. ``balance`` is ``gan_eval``'s
    ``spectral_balance`` result."""
    edges = balance["edges_hz"]
    # band centres on a log axis; the sub band (0-31 Hz) drawn at 22 Hz
    centres = [22.0] + [math.sqrt(lo * hi) for lo, hi in zip(edges[1:-1], edges[2:])]
    classes = [c for c in S.CLASSES if c in balance]
    vals = [v for c in classes for seg in ("early", "late") for k in ("gen_db", "real_db")
            for v in balance[c][seg][k]]
    lo_db = 10.0 * math.floor(min(vals) / 10.0)
    hi_db = 10.0 * math.ceil(max(vals) / 10.0)
    ml, mr, mt, mb = 44, 10, 24, 34
    pw, ph = width - ml - mr, height - mt - mb
    fx0, fx1 = math.log10(15.0), math.log10(20000.0)

    def x(f: float) -> float:
        return ml + pw * (math.log10(f) - fx0) / (fx1 - fx0)

    def y(db: float) -> float:
        return mt + ph * (hi_db - db) / max(hi_db - lo_db, 1e-9)

    panels = []
    for c in classes:
        el = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
              f"style='background:#fff;margin:4px' font-family='sans-serif' font-size='10'>",
              f"<text x='{ml + pw / 2}' y='14' text-anchor='middle' font-size='12'>{html.escape(c)}</text>"]
        for db in range(int(lo_db), int(hi_db) + 1, 10):
            el.append(f"<line x1='{ml}' x2='{ml + pw}' y1='{y(db):.1f}' y2='{y(db):.1f}' stroke='#ddd'/>"
                      f"<text x='{ml - 4}' y='{y(db) + 3:.1f}' text-anchor='end'>{db}</text>")
        for f, lab in zip(centres, balance["bands"]):
            el.append(f"<line x1='{x(f):.1f}' x2='{x(f):.1f}' y1='{mt}' y2='{mt + ph}' stroke='#eee'/>"
                      f"<text x='{x(f):.1f}' y='{mt + ph + 12}' text-anchor='middle'>{html.escape(lab)}</text>")
        el.append(f"<text x='{ml + pw / 2}' y='{height - 4}' text-anchor='middle'>octave band (Hz, log axis)</text>"
                  f"<text x='10' y='{mt + ph / 2}' transform='rotate(-90 10 {mt + ph / 2})' "
                  f"text-anchor='middle'>dB (re full scale)</text>")
        for seg, colour in (("early", "#d95f02"), ("late", "#1f78b4")):
            for key, dash in (("real_db", "4 3"), ("gen_db", "")):
                pts = " ".join(f"{x(f):.1f},{y(v):.1f}" for f, v in zip(centres, balance[c][seg][key]))
                el.append(f"<polyline points='{pts}' fill='none' stroke='{colour}' stroke-width='1.8' "
                          f"stroke-dasharray='{dash}'/>")
        el.append(f"<text x='{ml + pw - 2}' y='{mt + 10}' text-anchor='end' fill='#d95f02'>early 0-50 ms</text>"
                  f"<text x='{ml + pw - 2}' y='{mt + 22}' text-anchor='end' fill='#1f78b4'>late 50-300 ms</text>"
                  f"<text x='{ml + pw - 2}' y='{mt + 34}' text-anchor='end'>solid generated, dashed real</text>")
        el.append("</svg>")
        panels.append("".join(el))
    return "<div>" + "".join(panels) + "</div>"


def listening_page(sections: list[tuple[str, list[tuple[str, str, str]]]], path: str | Path,
                   title: str = "DrumGAN Live: listening page", intro: str = "",
                   figures: list[tuple[str, str]] | None = None) -> None:
    """Write an HTML page. ``sections`` = [(heading, [(caption, wav_rel, png_rel), ...]), ...];
    ``figures`` = [(heading, inline SVG/HTML made by this module), ...] go first."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;background:#111;color:#eee;margin:2em}"
             "figure{display:inline-block;margin:6px;text-align:center}img{display:block;width:200px}"
             "audio{width:200px}</style>", f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"]
    for heading, fig in figures or []:
        parts.append(f"<h2>{html.escape(heading)}</h2>{fig}")
    for heading, items in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2><div>")
        for caption, wav, png in items:
            parts.append(f"<figure><img src='{html.escape(png)}' alt='spectrogram'>"
                         f"<audio controls preload='none' src='{html.escape(wav)}'></audio>"
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        parts.append("</div>")
    Path(path).write_text("\n".join(parts) + "\n")
