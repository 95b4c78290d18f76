#!/usr/bin/env python3
"""Write mappings/touchosc.tosc: a TouchOSC (new) layout for the shipped `touchosc` mapping.

A .tosc file is zlib-compressed XML (<lexml version='3'>): a root GROUP node whose children
are controls, each with properties, values and an <osc> message (path + arguments). Every
address below is a native /drumgan address documented in mappings/README.md.
Run: python3 scripts/make_touchosc_layout.py  (then commit the small result).
"""
from __future__ import annotations

import uuid
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

OUT = Path(__file__).resolve().parent.parent / "mappings" / "touchosc.tosc"


def _prop(kind: str, key: str, value) -> str:
    if kind == "r":
        v = "".join(f"<{k}>{x}</{k}>" for k, x in zip("xywh", value))
    elif kind == "c":
        v = "".join(f"<{k}>{x}</{k}>" for k, x in zip("rgba", value))
    elif kind == "s":
        v = f"<![CDATA[{value}]]>"
    else:
        v = str(value)
    return f"<property type='{kind}'><key><![CDATA[{key}]]></key><value>{v}</value></property>"


def _partial(kind: str, conversion: str, value) -> str:
    return (f"<partial><type>{kind}</type><conversion>{conversion}</conversion>"
            f"<value><![CDATA[{value}]]></value><scaleMin>0</scaleMin><scaleMax>1</scaleMax></partial>")


def _osc(address: str, args: list[tuple[str, str, object]], condition: str = "ANY") -> str:
    """args: (type VALUE|CONSTANT, conversion FLOAT|INTEGER, value: variable name or constant)."""
    return ("<messages><osc><enabled>1</enabled><send>1</send><receive>1</receive><feedback>0</feedback>"
            "<noDuplicates>0</noDuplicates><connections>1111111111</connections>"
            f"<triggers><trigger><var><![CDATA[x]]></var><condition>{condition}</condition></trigger></triggers>"
            f"<path>{_partial('CONSTANT', 'STRING', escape(address))}</path>"
            f"<arguments>{''.join(_partial(*a) for a in args)}</arguments></osc></messages>")


def node(kind: str, name: str, frame, color=(0.3, 0.6, 1.0, 1.0), msg: str = "", extra=()) -> str:
    props = [_prop("s", "name", name), _prop("r", "frame", frame), _prop("c", "color", color)]
    props += [_prop(*p) for p in extra]
    return f"<node ID='{uuid.uuid5(uuid.NAMESPACE_URL, name)}' type='{kind}'><properties>{''.join(props)}</properties>{msg}</node>"


def layout() -> str:
    kids = []
    for i in range(16):                   # 4x4 pads: 1.0 on press, 0.0 on release (= note-off)
        r, c = divmod(i, 4)
        kids.append(node("BUTTON", f"pad{i + 1}", (10 + c * 120, 10 + (3 - r) * 120, 110, 110),
                         (1.0, 0.45, 0.1, 1.0), _osc(f"/drumgan/pad/{i + 1}/trigger", [("VALUE", "FLOAT", "x")])))
    for i in range(16):                   # pad selection for the edit controls
        kids.append(node("BUTTON", f"select{i + 1}", (500 + (i % 8) * 60, 10 + (i // 8) * 50, 55, 45),
                         (0.5, 0.5, 0.5, 1.0),
                         _osc("/drumgan/select", [("CONSTANT", "INTEGER", i + 1)], "RISE")))
    for j, name in enumerate(("kick", "snare", "cymbal", "gain", "round_robin")):
        kids.append(node("FADER", name, (500 + j * 70, 120, 60, 250), msg=_osc(
            f"/drumgan/pad/selected/{name}", [("VALUE", "FLOAT", "x")])))
    kids.append(node("XY", "variation", (860, 120, 250, 250), (0.2, 0.9, 0.5, 1.0),
                     _osc("/drumgan/pad/selected/xy", [("VALUE", "FLOAT", "x"), ("VALUE", "FLOAT", "y")])))
    for j, name in enumerate(("tune", "decay", "pan")):
        kids.append(node("RADIAL", name, (500 + j * 120, 390, 110, 110), msg=_osc(
            f"/drumgan/pad/selected/{name}", [("VALUE", "FLOAT", "x")])))
    for j, name in enumerate(("generate", "new_direction", "capture")):
        kids.append(node("BUTTON", name, (860 + j * 85, 390, 80, 50), (0.9, 0.2, 0.4, 1.0),
                         _osc(f"/drumgan/{name}", [("VALUE", "FLOAT", "x")])))
    kids.append(node("FADER", "master", (1130, 120, 60, 250), msg=_osc("/drumgan/master", [("VALUE", "FLOAT", "x")])))
    kids.append(node("BUTTON", "sync", (860, 450, 250, 50), (0.4, 0.4, 0.9, 1.0),
                     _osc("/drumgan/subscribe", [("CONSTANT", "INTEGER", 9001)], "RISE")))
    root = node("GROUP", "DrumGAN Live", (0, 0, 1200, 520), (0.0, 0.0, 0.0, 1.0))
    root = root.replace("</properties>", "</properties><children>" + "".join(kids) + "</children>", 1)
    return "<?xml version='1.0' encoding='UTF-8'?><lexml version='3'>" + root + "</lexml>"


if __name__ == "__main__":
    OUT.write_bytes(zlib.compress(layout().encode("utf-8"), 9))
    print(f"{OUT}: {OUT.stat().st_size} bytes")
