"""`drumgan kit design`: search the generator for a GM kit whose pads sound like their names."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


HEADER = ("# A General MIDI kit designed by 'drumgan kit design' (liveinstrument/design/kit.py): each pad's\n"
          "# z_center, classes, decay and tune were searched to sound like its name (targets measured on\n"
          "# real reference hits; 'design' below records them and what the shaped hits measured). No audio\n"
          "# is stored: the pads render with the loaded generator. As kits/gm-default it is the engine's default.\n")


def register(sub: argparse._SubParsersAction) -> None:
    """``drumgan kit design``: joins the ``kit`` command when another module made it (kit
    from-folder / export), else makes it."""
    kit = sub.choices.get("kit")
    if kit is None:
        kit = sub.add_parser("kit", help="kits: design the default GM kit from the generator")
        kit.set_defaults(func=lambda a: (kit.print_help(), 2)[1])
        ks = kit.add_subparsers(dest="kit_command", metavar="SUBCOMMAND")
    else:
        ks = next(a for a in kit._actions if isinstance(a, argparse._SubParsersAction))
    add_design_parser(ks)


def add_design_parser(ks: argparse._SubParsersAction) -> None:
    """Add ``design`` to the ``drumgan kit`` subcommands."""
    d = ks.add_parser("design", help="search the generator for a GM kit whose pads sound like their names",
                      description="For each General MIDI pad (kick, snare, closed/open/pedal hat, crash, ride, "
                                  "six toms, side stick, clap, electric snare) draw latent vectors with the "
                                  "role's classes, set decay and tune through the engine's shaping to meet "
                                  "targets measured on real reference hits of that role (decay time to -40 dB, "
                                  "brightness, pitch, sub-bass share, attack), and keep the candidate nearest "
                                  "them that the classifier hears as its class. Writes a kit file (no audio: it "
                                  "renders with the loaded generator). The shipped default kit is made with "
                                  "'drumgan kit design --out kits/gm-default/kit.yaml'.")
    d.add_argument("--out", required=True, metavar="FILE", help="kit file to write (kit.yaml)")
    d.add_argument("--models", help="models folder (default: your trained models, else the shipped ones)")
    d.add_argument("--data", default=None, metavar="NPZ",
                   help="real set (drumgan data build) to measure each role's targets on; "
                        "default: data/real.npz when it exists, else the built-in targets")
    d.add_argument("--candidates", type=int, default=48, metavar="N", help="latents tried per pad (default 48)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--print-targets", action="store_true", help="print each role's targets and exit")
    d.set_defaults(func=run_design)


def run_design(args) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from .. import paths
    from ..data.build import load_set
    from .kit import ROLES, design_kit, pads_from_choices, reference_targets

    con = Console(stderr=True)
    roles, source = ROLES, "built-in targets (liveinstrument/design/kit.py)"
    data = Path(args.data) if args.data else Path("data/real.npz")
    if data.is_file():
        roles, report = reference_targets(load_set(data), ROLES)
        source = f"real reference hits in {data} (test kit excluded)"
    elif args.data:
        print(f"drumgan kit design: {data} not found: build it with 'drumgan data build' "
              f"(or leave out --data for the built-in targets)", file=sys.stderr)
        return 2
    if args.print_targets:
        for r in roles:
            print(f"{r.name:15s} note {r.note}: t40 {r.t40_s:.3f} s, centroid {r.centroid_hz:.0f} Hz, "
                  f"pitch {r.pitch_hz or '-'} Hz, sub-100 share <= {r.sub_db if r.sub_db is not None else '-'} dB, "
                  f"attack brightness {r.click_db if r.click_db is not None else '-'} dB")
        print(f"(from {source})")
        return 0
    models = paths.models_dir(args.models)
    if not (models / "generator.safetensors").is_file():
        print(f"drumgan kit design: no generator in {models}: train one with 'drumgan train gan'", file=sys.stderr)
        return 2
    from ..classify import SoundClassifier
    from ..engine.state import save_kit
    from ..synth import DrumSynth

    synth = DrumSynth.load(models, with_encoder=False)
    clf = SoundClassifier(models / "classifier.safetensors")
    with Progress(console=con) as prog:
        task = prog.add_task("designing pads", total=len(roles))
        choices = design_kit(lambda z, c: synth.generate(z, c), clf.probs, roles, args.seed, args.candidates,
                             progress=lambda _: prog.advance(task))
    pads = pads_from_choices(choices, args.seed)
    design = {"command": f"drumgan kit design --out {args.out} --seed {args.seed} --candidates {args.candidates}",
              "targets_from": source, "generator": synth.model_hash,
              "measured": {ch.role.name: {"target_t40_s": ch.role.t40_s, "target_centroid_hz": ch.role.centroid_hz,
                                          "target_pitch_hz": ch.role.pitch_hz, "target_click_db": ch.role.click_db,
                                          **{k: (round(v, 4) if isinstance(v, float) else v)
                                             for k, v in ch.measured.items()}}
                           for ch in choices}}
    out = save_kit(args.out, pads, synth.model_hash, {}, extra={"design": design})
    empty_audio = out.with_name(out.stem + "_audio")
    if empty_audio.is_dir() and not any(empty_audio.iterdir()):
        empty_audio.rmdir()     # save_kit makes it; a designed kit stores no audio
    out.write_text(HEADER + out.read_text())
    for ch in choices:
        m = ch.measured
        print(f"{ch.role.name:15s} decay {ch.decay:.2f} tune {ch.tune_st:+5.1f} st | t40 {m['t40_s']:.3f} s "
              f"(target {ch.role.t40_s:.3f}), centroid {m['centroid_hz']:.0f} Hz ({ch.role.centroid_hz:.0f}), "
              f"pitch {m['pitch_hz']:.0f} Hz ({ch.role.pitch_hz or '-'}), sub {m['sub_db']:.1f} dB, "
              f"attack {1000 * m['attack_s']:.1f} ms, click {m['click_db']:.1f} dB ({ch.role.click_db}), "
              + (f"ghost margin {m['ghost_margin_db']:.1f} dB, " if "ghost_margin_db" in m else "")
              + f"classes {m['class_probs']}")
    print(f"wrote {out} (generator {synth.model_hash}; targets from {source})")
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(design, indent=2) + "\n")
    return 0
