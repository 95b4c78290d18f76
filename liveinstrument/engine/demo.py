"""A built-in demo performance, so a machine without an audio device still hears the instrument."""
from __future__ import annotations

from pathlib import Path

import mido

# (step in 16ths, GM note, velocity) for one bar; bar 4 ends with a tom fill.
_GROOVE = [(0, 36, 120), (8, 36, 100), (10, 36, 80), (4, 38, 118), (12, 38, 122), (15, 38, 45)]
_HATS = [(s, 42, 90 if s % 4 == 0 else 60) for s in range(0, 16, 2)]
_FILL = [(12, 48, 110), (13, 48, 95), (14, 45, 110), (15, 45, 100)]


def demo_midi(path: str | Path, bars: int = 4, bpm: float = 108.0) -> Path:
    """Write a short groove (kick, snare, hats, crash, a tom fill) as a GM drum MIDI file."""
    tpb = 480
    step = tpb // 4
    events: list[tuple[int, int, int]] = []
    for bar in range(bars):
        base = bar * 16
        notes = _GROOVE + (_HATS[:-2] + [(12, 46, 85)] if bar == bars - 1 else _HATS)
        if bar == bars - 1:
            notes = [n for n in notes if n[0] < 12] + _FILL
        if bar == 0:
            notes = notes + [(0, 49, 110)]
        events += [(base + s, n, v) for s, n, v in notes]
    events.append((bars * 16, 36, 120))
    events.append((bars * 16, 49, 120))
    mid = mido.MidiFile(ticks_per_beat=tpb)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    now = 0
    for tick, note, vel in sorted((s * step, n, v) for s, n, v in events):
        tr.append(mido.Message("note_on", channel=9, note=note, velocity=vel, time=tick - now))
        now = tick
    tr.append(mido.MetaMessage("end_of_track", time=tpb))
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(p))
    return p
