"""`drumgan eval classifier|gan|encoder`: the paper's tables, measured on the shipped weights."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure the shipped models (paper Tables 1 and 2)",
                       description="Evaluation on the shipped (fp16) weights. Needs the data set built by "
                                   "'drumgan data build'.")
    esub = p.add_subparsers(dest="eval_command", metavar="MODEL")
    c = esub.add_parser("classifier", help="accuracy and confusion matrix on the unseen test kit")
    c.add_argument("--data", default=str(paths.training_data()))
    c.add_argument("--model", default=str(paths.model_file("classifier.safetensors")))
    c.set_defaults(func=_classifier)
    g = esub.add_parser("gan", help="conditioning accuracy, IS / KID / Fréchet distance, copying check")
    g.add_argument("--data", default=str(paths.training_data()))
    g.add_argument("--models", default=str(paths.models_dir()))
    g.add_argument("--per-class", type=int, default=300)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--report", default=None, metavar="DIR", help="also write an HTML listening page")
    g.add_argument("--json", default=None, metavar="FILE", help="write the figures as JSON")
    g.set_defaults(func=_gan)
    e = esub.add_parser("encoder", help="encode/decode metrics (MSE, LSD, SNR, ViSQOL) on gen/train/test")
    e.add_argument("--data", default=str(paths.training_data()))
    e.add_argument("--models", default=str(paths.models_dir()))
    e.add_argument("--n", type=int, default=100, help="sounds per set")
    e.add_argument("--refine", type=int, nargs="*", default=[0], metavar="STEPS",
                   help="refinement steps to compare (e.g. --refine 0 50)")
    e.add_argument("--json", default=None, metavar="FILE")
    e.set_defaults(func=_encoder)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _preflight(args, *need: tuple[str, str, str]) -> bool:
    """Check inputs before any slow work: one line per missing thing, with what to run."""
    lines = [m for path, run, what in need if (m := paths.missing(path, run, what))]
    for line in lines:
        print(f"drumgan eval: {line}", file=sys.stderr)
    return not lines


def _classifier(args) -> int:
    if not _preflight(args, (args.data, "drumgan data build", "training data"),
                      (args.model, "drumgan train classifier", "classifier")):
        return 2
    import numpy as np

    from .. import signal as S
    from ..classify import SoundClassifier
    from ..data.build import load_set
    from ..train.classifier import summarize
    from .metrics import format_table

    d = load_set(args.data)
    sel = (d["split"] == "test") & (d["label"] < 3)
    r = summarize(d["label"][sel], SoundClassifier(args.model).probs(d["audio"][sel]))
    print(f"test kit(s): {sorted(set(d['kit'][sel]))}  n={r['n']}  accuracy {r['accuracy']:.3f} "
          f"(95% CI {r['accuracy_ci95'][0]:.3f}-{r['accuracy_ci95'][1]:.3f})")
    rows = [{"true \\ predicted": S.CLASSES[i], **{S.CLASSES[j]: r["confusion"][i][j] for j in range(3)},
             "accuracy": r["per_class"][S.CLASSES[i]]["accuracy"]} for i in range(3)]
    print(format_table(rows, ["true \\ predicted", *S.CLASSES, "accuracy"], "Confusion matrix"))
    return 0 if np.isfinite(r["accuracy"]) else 1


def _gan(args) -> int:
    if not _preflight(args, (args.data, "drumgan data build", "training data"),
                      (Path(args.models) / "generator.safetensors", "drumgan train gan", "generator"),
                      (Path(args.models) / "eval_classifier.safetensors",
                       "drumgan train classifier --no-loko --out MODELS/eval_classifier.safetensors",
                       "evaluation classifier")):
        return 2
    from .gan_eval import evaluate_gan, write_report
    from .metrics import format_table

    res = evaluate_gan(args.models, args.data, args.per_class, args.seed)
    print(format_table(res["table1"], ["set", "IS", "KID", "FD"],
                       "Table 1 (evaluation classifier; FD = Fréchet distance on its embeddings, not VGGish FAD)"))
    print(f"IS ratio generated / real: {res['is_ratio_vs_real']:.3f}")
    cp = res["copying"]
    print(f"nearest training sound (cosine distance on eval-classifier embeddings): generated median "
          f"{cp['gen_to_train_nn_median']:.4f} (p5 {cp['gen_to_train_nn_p5']:.4f}) vs real-to-real median "
          f"{cp['train_to_train_nn_median']:.4f} (p5 {cp['train_to_train_nn_p5']:.4f})")
    for name, a in res["artefacts"].items():
        print(f"{name}: clicks per sound {a['clicks_per_sound_gen']:.1f} generated vs {a['clicks_per_sound_real']:.1f} "
              f"real training; crest factor median {a['crest_db_gen_median']:.1f} vs {a['crest_db_real_median']:.1f} dB")
    print_spectral_balance(res["spectral_balance"])
    if args.report:
        from ..synth import DrumSynth
        page = write_report(res, DrumSynth.load(args.models, with_encoder=False), args.report)
        print(f"listening page: {page}")
    if args.json:
        slim = {k: v for k, v in res.items() if k not in ("gen_audio", "gen_labels")}
        Path(args.json).write_text(json.dumps(slim, indent=2) + "\n")
    return 0


def print_spectral_balance(sb: dict) -> None:
    """The spectral-balance figures of ``drumgan eval gan`` (issue #14), one block per class."""
    print("spectral balance vs real training sounds (octave bands " + " ".join(sb["bands"]) + "; dB = generated - real)")
    for name in ("kick", "snare", "cymbal"):
        if name not in sb:
            continue
        r = sb[name]
        for seg, what in (("early", "0-50 ms"), ("late", "50-300 ms")):
            e = r[seg]
            print(f"  {name} {what}: " + " ".join(f"{v:+.1f}" for v in e["diff_db"]) +
                  f" | max |dev| {e['max_dev_db']:.1f} dB ({e['worst_band']}), "
                  f"{e['bands_within']}/{e['n_bands']} bands within 3 dB")
        s, g, t = r["sub100_share_db"], r["low_graininess_db"], r["kick_tone_share"]
        print(f"  {name}: sub-100 Hz share of 0-120 ms {s['gen']:.1f} vs {s['real']:.1f} dB real ({s['diff']:+.1f}); "
              f"low-band graininess {g['gen']:.2f} vs {g['real']:.2f} dB ({g['ratio']:.2f}x); "
              f"kick-tone share {t['gen']:.3f} vs {t['real']:.3f} ({t['ratio']:.2f}x)")


def _encoder(args) -> int:
    if not _preflight(args, (args.data, "drumgan data build", "training data"),
                      (Path(args.models) / "encoder.safetensors", "drumgan train encoder", "encoder")):
        return 2
    from .encoder_eval import evaluate_encoder
    from .metrics import format_table

    all_rows = []
    for steps in args.refine:
        all_rows += evaluate_encoder(args.models, args.data, args.n, steps)
    print(format_table(all_rows, ["set", "refine_steps", "MSE", "LSD", "LSD_kick", "LSD_snare", "LSD_cymbal",
                                  "SNR", "ViSQOL", "ms_per_sound"],
                       "Table 2 (ViSQOL MOS 1-5 stands in for PEAQ ODG/DI)"))
    if args.json:
        Path(args.json).write_text(json.dumps(all_rows, indent=2) + "\n")
    return 0
