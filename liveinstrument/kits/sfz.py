"""SFZ export: one ``<group>`` per pad and velocity layer, its round-robin takes as
``seq_position`` regions (``seq_length`` = the number of takes), samples in ``samples/``
(paths relative to the .sfz, as every SFZ player resolves them).

Velocity is baked into the takes (each was rendered at its layer's top velocity
through the instrument), so ``amp_veltrack=0``: a sampler must not scale them again.
Choke groups become SFZ polyphony groups (``group=N off_by=N``).
"""
from __future__ import annotations

from pathlib import Path

from .render import PadSamples, write_takes

SAMPLE_DIR = "samples"


def sfz_text(pads: list[PadSamples], names: dict[tuple[int, int, int], str], title: str, header: dict) -> str:
    """The SFZ file's text for ``pads`` whose takes are written as ``names``."""
    lines = [f"// {title}: exported by drumgan kit export (model {header.get('model_hash', '?')})",
             "// velocity layers x round-robin takes, each rendered through the DrumGAN Live engine",
             "<global>", "loop_mode=one_shot", "amp_veltrack=0", ""]
    for ps in pads:
        lines.append(f"// pad {ps.pad}: {ps.name} (note {ps.note})")
        for li, layer in enumerate(ps.layers):
            lines += ["<group>", f"key={ps.note}", f"lovel={layer.lo}", f"hivel={layer.hi}",
                      f"seq_length={len(layer.takes)}"]
            if ps.choke:
                lines += [f"group={ps.choke}", f"off_by={ps.choke}"]
            for ti in range(len(layer.takes)):
                # the sample opcode first on its line: a path value runs to the next opcode
                lines.append(f"<region> sample={SAMPLE_DIR}/{names[(ps.pad, li, ti)]} seq_position={ti + 1}")
        lines.append("")
    return "\n".join(lines)


def export_sfz(pads: list[PadSamples], out_dir: str | Path, title: str, header: dict) -> Path:
    """Write ``OUT/<title>.sfz`` and ``OUT/samples/*.wav``; returns the .sfz path."""
    out = Path(out_dir)
    names = write_takes(pads, out / SAMPLE_DIR, int(header["sample_rate"]))
    path = out / f"{title}.sfz"
    path.write_text(sfz_text(pads, names, title, header))
    return path
