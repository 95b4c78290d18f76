"""`drumgan train classifier|gan|encoder`."""
from __future__ import annotations

import argparse

from .. import paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the classifier, the GAN or the encoder",
                       description="Training jobs. Each writes safetensors + JSON into --out and can be "
                                   "stopped and resumed.")
    tsub = p.add_subparsers(dest="train_command", metavar="MODEL")

    c = tsub.add_parser("classifier", help="kick/snare/cymbal classifier with leave-one-kit-out cross-fitting",
                        description="Leave-one-kit-out cross-fitting (whose held-out predictions become the "
                                    "GAN's soft labels), then the final model, then one look at the test kit.")
    c.add_argument("--data", default=str(paths.training_data()), help="set built by 'drumgan data build'")
    c.add_argument("--out", default=str(paths.models_out_dir() / "classifier.safetensors"))
    c.add_argument("--labels-out", default=str(paths.training_data("soft_labels.npz")),
                   help="where the cross-fitted soft labels go (input of 'drumgan train gan')")
    c.add_argument("--epochs", type=int, default=15)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--n-mels", type=int, default=128)
    c.add_argument("--synth", default=None, help="also train on a procedural set (drumgan data synth)")
    c.add_argument("--no-loko", action="store_true", help="skip leave-one-kit-out (no soft labels)")
    c.add_argument("--folds", type=int, default=0, metavar="K",
                   help="cross-fit over K folds of whole kits instead of one fit per kit (faster; 0 = per kit)")
    c.set_defaults(func=_classifier)

    g = tsub.add_parser("gan", help="progressive-growing WGAN-GP generator (resumable)")
    g.set_defaults(func=lambda a: _lazy("liveinstrument.train.gan", a))
    try:
        from .gan import add_arguments as gan_args
        gan_args(g)
    except ImportError:
        pass

    e = tsub.add_parser("encoder", help="encoder E on G's outputs (resumable)")
    e.set_defaults(func=lambda a: _lazy("liveinstrument.train.encoder", a))
    try:
        from .encoder import add_arguments as enc_args
        enc_args(e)
    except ImportError:
        pass
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _lazy(module: str, args) -> int:
    import importlib
    return importlib.import_module(module).main(args)


def _classifier(args) -> int:
    problem = paths.missing(args.data, "drumgan data build", "training data")
    if problem:
        print(f"drumgan train classifier: {problem}")
        return 2
    import torch

    from .classifier import ClassifierTrainConfig, run

    torch.set_num_threads(max(1, torch.get_num_threads()))
    cfg = ClassifierTrainConfig(epochs=args.epochs, seed=args.seed, n_mels=args.n_mels)
    report = run(args.data, args.out, cfg, labels_out=None if args.no_loko else args.labels_out,
                 loko=not args.no_loko, synth_path=args.synth, folds=args.folds)
    t = report["test"]
    print(f"test accuracy {t['accuracy']:.3f} (n={t['n']}); per class " +
          ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in t["per_class"].items()))
    return 0
