"""Hostile OSC packets: the 28-byte bundle that wedged python-osc, and a fuzz generator."""
from __future__ import annotations

import random
import struct

from .live_rig import osc_msg

# a #bundle whose element size is -4: python-osc's own parser loops forever on it
WEDGE = b"#bundle\0" + b"\0" * 8 + struct.pack(">i", -4) + b"\0" * 8


def fuzz_packet(rng: random.Random, triggers: bool = True) -> bytes:
    """Random bytes, truncated messages, bundles with random element sizes, deep nesting,
    wrong type tags, or a well-formed message (a pad 0..19 parameter, a bad name, or, with
    ``triggers``, a trigger). Without triggers no packet can play a sound, so a recording
    holds only the valid hits sent beside the fuzz."""
    names = ["kick", "tune", "x"] + (["trigger"] if triggers else [])
    kind = rng.randrange(6)
    good = osc_msg(f"/drumgan/pad/{rng.randrange(20)}/{rng.choice(names)}", rng.random())
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    if kind == 1:
        return good[:rng.randrange(1, len(good))]
    if kind == 2:                                     # bundle with a random element size
        return b"#bundle\0" + b"\0" * 8 + struct.pack(">i", rng.randrange(-2**31, 2**31)) + good
    if kind == 3:                                     # deep nesting
        p = good
        for _ in range(rng.randrange(1, 12)):
            p = b"#bundle\0" + b"\0" * 8 + struct.pack(">i", len(p)) + p
        return p
    if kind == 4:                                     # wrong type tags
        return b"/drumgan/pad/1/kick\0,sbq\0\0\0" + bytes(rng.randrange(256) for _ in range(12))
    return good
