"""`drumgan kit from-folder DIR --out KIT` and `drumgan kit export KIT --format sfz|hydrogen|wav --out DIR`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("sfz", "hydrogen", "wav")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kit", help="make a neural kit from a sample folder, or export a kit to samplers",
                       description="Kits: turn a folder of one-shots into a playable DrumGAN kit, "
                                   "render a kit's pads to SFZ, a Hydrogen drumkit or plain WAV files, or design a GM kit.")
    ks = p.add_subparsers(dest="kit_command", metavar="SUBCOMMAND")
    f = ks.add_parser("from-folder", help="analyse every one-shot in a folder into a kit",
                      description="Encode every one-shot under DIR (WAV/FLAC/AIFF/OGG, any rate and channel "
                                  "count) with E, order the sounds by class (kicks, snares, cymbals) and lay them "
                                  "on pads with variation controls and round-robin. A bad file gets one line; "
                                  "the rest still load. Play the result with 'drumgan live --kit KIT'.")
    f.add_argument("folder", metavar="DIR")
    f.add_argument("--out", required=True, metavar="KIT",
                   help="a name (saved among your kits: 'drumgan live --kit NAME' finds it), or a path: "
                        "a kit file (.yaml) or a folder (gets FOLDER/kit.yaml)")
    f.add_argument("--refine", type=int, default=20, metavar="N",
                   help="analysis-by-synthesis steps per sound after E (default 20; 0 = E alone, fastest)")
    f.add_argument("--max-pads", type=int, default=16, metavar="N",
                   help="at most N pads (default 16); the least confident sounds of the last classes give way")
    f.add_argument("--round-robin", type=float, default=0.25, metavar="A",
                   help="round-robin amount per pad, 0..1 (default 0.25; 0 = every hit identical)")
    f.add_argument("--seed", type=int, default=0, help="seeds the pads' variation directions")
    f.add_argument("--models", help="models folder (default: the shipped models)")
    f.set_defaults(func=run_from_folder)
    e = ks.add_parser("export", help="render a kit to SFZ, a Hydrogen drumkit or WAV files",
                      description="Render every pad through the instrument (velocity layers x round-robin "
                                  "variations) and write it for another sampler: SFZ (+ samples/), a Hydrogen "
                                  "drumkit folder (drumkit.xml + samples), or one WAV per pad.")
    e.add_argument("kit", metavar="KIT", help="kit file, kit folder, or the name of a saved or shipped kit")
    e.add_argument("--format", required=True, choices=FORMATS)
    e.add_argument("--out", required=True, metavar="DIR", help="output folder")
    e.add_argument("--layers", type=int, default=3, metavar="N", help="velocity layers (default 3; wav: 1)")
    e.add_argument("--variations", type=int, default=4, metavar="N",
                   help="round-robin takes per layer (default 4; pads with round-robin 0 get 1)")
    e.add_argument("--name", help="kit name in the export (default: the kit file's folder or stem)")
    e.add_argument("--samplerate", type=int, default=44_100)
    e.add_argument("--models", help="models folder (default: the shipped models)")
    e.set_defaults(func=run_export)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _kit_path(out: str) -> Path:
    """``--out``: a bare name is a kit in the user's kits folder; anything path-like is a path."""
    from .. import paths
    p = Path(out).expanduser()
    if p.suffix.lower() in (".yaml", ".yml"):
        return p
    if "/" in out or out.startswith((".", "~")) or p.is_dir():
        return p / paths.KIT_FILE
    return paths.user_kit_path(out)


def _progress():
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    # on stderr, like the error lines: stdout keeps only the result
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    transient=True, console=Console(stderr=True))


def run_from_folder(args) -> int:
    prog = "drumgan kit from-folder"
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"{prog}: {folder}: not a folder (give the folder that holds your one-shots)", file=sys.stderr)
        return 2
    from ..audio_io import iter_audio_files
    files = iter_audio_files([folder])
    if not files:
        print(f"{prog}: {folder}: no audio files (.wav .flac .aif .aiff .ogg) in it", file=sys.stderr)
        return 2
    from .. import paths
    try:
        out = _kit_path(args.out)
    except paths.BadName as exc:
        print(f"{prog}: --out {exc}", file=sys.stderr)
        return 2
    from ..classify import SoundClassifier
    from ..synth import DrumSynth
    from .folder import analyse_folder, order_by_class, write_kit
    models = paths.models_dir(args.models)
    try:
        for need in (models / "generator.safetensors", models / "encoder.safetensors",
                     paths.model_file("classifier.safetensors", args.models)):
            if not need.is_file():
                train = {"generator": "gan"}.get(need.stem, need.stem)
                raise FileNotFoundError(f"{need} missing: run 'drumgan train {train}' or pass --models DIR")
        synth = DrumSynth.load(models)
        classifier = SoundClassifier(paths.model_file("classifier.safetensors", args.models))
    except FileNotFoundError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    with _progress() as bar:
        task = bar.add_task("analysing", total=len(files))

        def on_file(path, error):
            if error:
                bar.console.print(f"{prog}: {error}", markup=False, highlight=False, soft_wrap=True)
            bar.advance(task)

        sounds, bad = analyse_folder(folder, synth, classifier, refine=args.refine, on_file=on_file)
    if not sounds:
        print(f"{prog}: none of the {len(files)} files could be used", file=sys.stderr)
        return 1
    sounds = order_by_class(sounds)
    if len(sounds) > args.max_pads:
        left = ", ".join(s.path.name for s in sounds[args.max_pads:])
        print(f"{prog}: {len(sounds) - args.max_pads} sounds beyond --max-pads {args.max_pads} left out: {left}")
        sounds = sounds[:args.max_pads]
    out = write_kit(out, sounds, synth, args.round_robin, args.seed)
    from ..engine.state import load_kit
    for i, pad in enumerate(load_kit(out)[0]):
        c = sounds[i].probs
        print(f"pad {i + 1:2d}  note {pad.note:3d}  {pad.name:<24s} classifier k/s/c {c[0]:.2f} {c[1]:.2f} {c[2]:.2f}")
    print(f"{out}: {len(sounds)} pads from {len(files)} files ({bad} skipped); play it: drumgan live --kit {out}")
    return 1 if bad else 0


def run_export(args) -> int:
    prog = "drumgan kit export"
    from ..paths import resolve_kit
    try:
        kit = resolve_kit(args.kit)
    except FileNotFoundError as exc:
        print(f"{prog}: {exc} (or make one: drumgan kit from-folder DIR --out NAME)", file=sys.stderr)
        return 2
    from .hydrogen import export_hydrogen, fit_layers
    from .render import render_kit
    from .sfz import export_sfz
    from .wavs import export_wavs
    layers, variations = args.layers, args.variations
    if args.format == "wav":
        layers, variations = 1, 1
    elif args.format == "hydrogen":
        fitted = fit_layers(layers, variations)
        if fitted != (layers, variations):
            print(f"{prog}: Hydrogen holds 16 layers per instrument: {fitted[0]} velocity layers x "
                  f"{fitted[1]} takes")
        layers, variations = fitted
    name = args.name or (kit.parent.name if kit.stem == "kit" and kit.parent.name else kit.stem)
    try:
        with _progress() as bar:
            task = bar.add_task("rendering", total=None)
            pads, header = render_kit(kit, layers=layers, variations=variations, sample_rate=args.samplerate,
                                      models_dir=args.models,
                                      progress=lambda d, t: bar.update(task, completed=d, total=t))
    except (OSError, ValueError) as exc:
        print(f"{prog}: {kit}: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    if args.format == "sfz":
        path = export_sfz(pads, out, name, header)
    elif args.format == "hydrogen":
        path = export_hydrogen(pads, out, name, header)
    else:
        path = export_wavs(pads, out, header)
    n = sum(len(layer.takes) for ps in pads for layer in ps.layers)
    print(f"{path}: {len(pads)} pads, {n} samples ({layers} velocity layers x up to {variations} takes)")
    return 0
