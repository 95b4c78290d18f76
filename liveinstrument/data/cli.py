"""`drumgan data build` and `drumgan data synth`."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="build training sets from real drum kits, your folders, or the procedural synth",
                       description="Build training sets. Real kits come from Debian packages "
                                   "(install them with: scripts/install-system-deps.sh --data).")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    b = dsub.add_parser("build", help="make data/real.npz + data/real.csv from installed kits and folders",
                        description="Load, label (from instrument/folder names), trim, fit to 0.55 s, "
                                    "peak-normalise, de-duplicate and split one-shots. Test kit: BJA_Pacific. "
                                    "Excluded kits: The Black Pearl 1.0, GMRockKit.")
    b.add_argument("--out", default=str(paths.training_data_dir()), help="output folder (default: %(default)s)")
    b.add_argument("--name", default="real", help="set name: writes NAME.npz and NAME.csv (default: real)")
    b.add_argument("--folder", action="append", default=[], metavar="DIR",
                   help="also use a folder of WAV/FLAC/AIFF one-shots (labels from folder/file names); repeatable")
    b.add_argument("--label-with-classifier", action="store_true",
                   help="label files whose names carry no class with models/classifier.safetensors "
                        "(kept when its top probability >= 0.8)")
    b.add_argument("--no-hydrogen", action="store_true", help="skip the Hydrogen kits")
    b.add_argument("--no-fluid", action="store_true", help="skip FluidR3 GM drum kits")
    b.add_argument("--no-extra", action="store_true",
                   help="skip the other Debian sources (LMMS and Sonic Pi samples, TimGM6mb and "
                        "MuseScore General GM kits): the set the G before #14 was trained on")
    b.set_defaults(func=_build)
    s = dsub.add_parser("synth", help="render a procedural drum set (widening aid, marked synthetic)")
    s.add_argument("--per-class", type=int, default=500, help="sounds per class (default: 500)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default=str(paths.training_data("synth.npz")))
    s.set_defaults(func=_synth)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _build(args) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from .build import build
    from .sources import SOUNDFONTS, fluid_items, folder_items, hydrogen_items, lmms_items, \
        sonic_pi_items, soundfont_items

    con = Console(stderr=True)
    items = []
    if not args.no_hydrogen:
        items += hydrogen_items()
    if not args.no_fluid:
        with con.status("rendering FluidR3 GM drum kits with fluidsynth ..."):
            items += fluid_items()
    if not args.no_extra:
        items += lmms_items() + sonic_pi_items()
        for sf in SOUNDFONTS[1:]:  # [0] is FluidR3 (above)
            with con.status(f"rendering {sf.name} GM drum kits with fluidsynth ..."):
                items += soundfont_items(sf)
    for folder in args.folder:
        if not Path(folder).is_dir():
            con.print(f"[red]--folder {folder}: not a directory[/red]")
            return 2
        items += folder_items(folder)
    if not items:
        con.print("[red]No sources found.[/red] Install the kits with 'scripts/install-system-deps.sh --data' "
                  "or pass --folder DIR.")
        return 2
    with Progress(console=con) as prog:
        task = prog.add_task("building", total=len(items))
        clf = None
        if args.label_with_classifier:
            from ..classify import SoundClassifier
            clf = SoundClassifier()
        report = build(items, args.out, args.name, progress=lambda n, t: prog.update(task, completed=n),
                       classifier=clf)
    for line in report.lines():
        print(line)
    print(f"wrote {Path(args.out) / (args.name + '.npz')} and {Path(args.out) / (args.name + '.csv')}")
    return 0


def _synth(args) -> int:
    import numpy as np

    from .build import LABELS
    from .procedural import synth_set

    audio, labels, _ = synth_set(args.per_class, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, audio=audio.astype(np.float32), label=np.array([LABELS.index(x) for x in labels]),
             split=np.array(["train"] * len(labels)), kit=np.array(["procedural"] * len(labels)),
             real=np.zeros(len(labels), dtype=bool))
    print(f"wrote {out}: {len(labels)} synthetic sounds")
    return 0
