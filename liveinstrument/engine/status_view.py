"""Live status view (rich): pads, last hits, callback load, xruns, ring fill."""
from __future__ import annotations

import time

from rich.table import Table

from .instrument import Instrument


def ring_fill(inst: Instrument, pad: int) -> float:
    """Fraction of the pad's round-robin slots holding a variation not yet played."""
    core_rr = int(inst.mixer.meta[pad, 0])
    if core_rr <= 1:
        return 1.0 if core_rr == 1 else 0.0
    # a played slot is refilled when the renderer publishes a new buffer for it; distinct
    # buffers in the map approximates the number of fresh variations
    return len(set(int(b) for b in inst.mixer.map[pad, :core_rr])) / core_rr


def kit_line(inst: Instrument) -> str:
    """The current kit, a running save/load, the last outcome."""
    k = inst.kit_info()
    parts = [f"kit: [b]{k['name'] or 'default (unsaved)'}[/b]"]
    if k["busy"]:
        parts.append("[yellow]saving/loading ...[/yellow]")
    if k["error"]:
        parts.append(f"[red]{k['error']}[/red]")
    elif k["message"]:
        parts.append(k["message"])
    parts.append(f"{len(k['kits'])} kits, undo {k['undo_steps']}")
    return "  ".join(parts)


def render_status(inst: Instrument, out, t0: float, control_lines: list[str] | None = None,
                  keys=None) -> Table:
    m = inst.mixer
    st = out.stats()
    head = (f"[b]DrumGAN Live[/b]  {st.get('device', '?')}  {st.get('samplerate')} Hz / {st.get('blocksize')} "
            f"| callback p50 {st.get('p50_ms', 0):.2f} ms p99 {st.get('p99_ms', 0):.2f} ms "
            f"(load {100 * st.get('load_p99', 0):.0f}%) | xruns {st.get('xruns', 0)} "
            f"| voices {m.active_voices()}/{m.max_voices} | hits {m.hits} | model {inst.model_hash} "
            f"| up {time.monotonic() - t0:.0f} s")
    t = Table(title=head, expand=True, title_justify="left")
    for col in ("pad", "name", "note", "kick", "snare", "cym", "var", "tune", "gain", "gen", "ring", "last hit"):
        t.add_column(col, justify="right" if col not in ("name",) else "left")
    now = m.frames
    for i, p in enumerate(inst.state()["pads"]):      # the instrument's snapshot, taken under its lock
        lh = m.last_hit_frame[i]
        ago = f"{(now - lh) / inst.sample_rate:5.1f} s v{m.last_hit_vel[i]:.2f}" if lh >= 0 else "-"
        t.add_row(str(i + 1), p["name"], str(p["note"]), *(f"{p[k]:.2f}" for k in
                  ("kick", "snare", "cymbal", "variation", "tune", "gain")), str(p["generation"]),
                  f"{100 * ring_fill(inst, i):.0f}%", ago)
    caption = [kit_line(inst), *(control_lines or [])]
    if keys is not None and keys.active:
        caption.append(keys.help_line())
    cap = inst.capture                            # audio input (liveinstrument.capture), when running
    if cap is not None:
        caption.append(cap.status_line())
    t.caption = "\n".join(caption)
    t.caption_justify = "left"
    return t
