"""Pictures and pages for people: spectrogram PNGs and the HTML listening page."""
from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import torch

from .. import signal as S
from ..spectrogram import _colormap, spectrogram_image, spectrogram_png  # noqa: F401  (re-exported)


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
