"""`drumgan classify FILE_OR_DIR...`: one JSON object per line with kick/snare/cymbal probabilities."""
from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="kick/snare/cymbal probabilities of audio files (JSON lines)",
                       description="Prints one JSON object per input file: "
                                   '{"path": ..., "kick": p, "snare": p, "cymbal": p}. Any sample rate, '
                                   "channel count and length; folders are searched recursively. Files that "
                                   "cannot be read are reported on stderr and the rest still run.")
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--model", default=None, help="classifier weights (default: models/classifier.safetensors)")
    p.set_defaults(func=run)


def run(args) -> int:
    from .audio_io import iter_one_shots
    from .classify import SoundClassifier
    from .paths import model_file

    try:
        clf = SoundClassifier(args.model or model_file("classifier.safetensors"))
    except FileNotFoundError as exc:
        print(f"drumgan classify: {exc}", file=sys.stderr)
        return 2
    shots = iter_one_shots(args.paths, "drumgan classify")
    for path, shot in shots:
        p = clf.probs(shot[None])[0]
        print(json.dumps({"path": str(path), "kick": round(float(p[0]), 4),
                          "snare": round(float(p[1]), 4), "cymbal": round(float(p[2]), 4)}), flush=True)
    return 1 if shots.failed else 0
