"""The ``fer`` command: ``fer train | data | evaluate | predict | report | filters | ensemble | calibrate``.

Errors in user input print one line ``fer: error: ...`` and exit with status 2; so does an ``OSError``
(a file that cannot be read or written: a folder given for a file, a read-only or full disk), as
``PATH: reason`` (:func:`fer_core.errors.describe_os_error`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

from fer_core.config import TrainConfig
from fer_core.data.dataset import find_data, load_fer2013, load_optional_dataset
from fer_core.data.faces import faces_in, read_photo
from fer_core.data.shift import compare_splits
from fer_core.errors import FerError, describe_os_error, shorten
from fer_core.evaluation.confusion import confused_pairs, confusion_sentences
from fer_core.evaluation.label_noise import shared_confusion_sentences, summary_sentences
from fer_core.evaluation.scores import evaluate_run, predict_proba, top_k, write_submission
from fer_core.labels import EMOTIONS, NUM_CLASSES
from fer_core.paths import model_file
from fer_core.quiet import import_keras_quietly
from fer_core.report.page import write_report
from fer_core.runs.files import atomic_path, write_json
from fer_core.runs.folder import ENSEMBLE, Run, check_resumable
from fer_core.runs.history import merge_histories
from fer_core.runs.lock import check_unlocked
from fer_core.runs.members import member_record
from fer_core.runs.summary import format_duration
from fer_core.vis.filter_cache import precompute

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any command imports TensorFlow


def _add_config_flags(parser: argparse.ArgumentParser, config_class) -> None:
    """One flag per config field, with its default in the help text."""
    for f in dataclasses.fields(config_class):
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata.get('help', '')} (default: %(default)s)"
        if f.type in (bool, "bool"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=help_text)
        else:
            kind = {"int": int, "float": float}.get(f.type if isinstance(f.type, str) else f.type.__name__, str)
            parser.add_argument(flag, type=kind, default=f.default, choices=f.metadata.get("choices"), help=help_text)


FERPLUS_HELP = "FER+ votes file (default: $FER_PLUS, else fer2013new.csv beside the FER2013 CSV)"


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (argparse prints the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {shorten(message, 300)} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fer", description="FER Lens: train, score and look inside a FER2013 CNN.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model (resumes an interrupted run)")
    _add_config_flags(train, TrainConfig)
    train.add_argument("--restart", action="store_true",
                       help="train the run in --out from scratch: its checkpoint, history and models are removed first "
                            "(the way out of a damaged checkpoint)")

    data = commands.add_parser("data", help="check the dataset and show its splits and class counts")
    data.add_argument("--data", help="FER2013 file or folder (default: $FER_DATA)")
    data.add_argument("--ferplus", help=FERPLUS_HELP)

    evaluate = commands.add_parser("evaluate", help="score a run on PublicTest: metrics.json, predictions.npz")
    evaluate.add_argument("run", help="run directory (or a .keras file; results go beside it, named after it "
                          "unless it is model.keras)")
    evaluate.add_argument("--data", help="FER2013 file or folder (default: $FER_DATA)")
    evaluate.add_argument("--ferplus", help=FERPLUS_HELP)

    predict = commands.add_parser("predict", help="Kaggle submission for a split, or top-3 emotions for image files")
    predict.add_argument("run", help="run directory or .keras file")
    predict.add_argument("images", nargs="*", help="image files (any size, colour or gray)")
    predict.add_argument("--split", choices=("train", "public", "private"), help="predict a whole split")
    predict.add_argument("--out", help="submission CSV to write (default: RUN/submission.csv, "
                         "or NAME.submission.csv beside a NAME.keras)")
    predict.add_argument("--data", help="FER2013 file or folder (default: $FER_DATA)")
    report = commands.add_parser("report", help="write one self-contained HTML report of a run")
    report.add_argument("run", help="run directory (model.keras, config.json, metrics.json, history.csv), or "
                        "another NAME.keras in one (NAME.metrics.json; NAME.report.html)")
    report.add_argument("--ablation", metavar="DIR", help="folder of runs for the normalization x augmentation table")
    report.add_argument("--layer", default="conv5", help="layer for filter images and feature maps (default: conv5)")
    report.add_argument("--face", type=int, help="PublicTest row for the feature maps (default: first saliency face)")
    report.add_argument("--out", help="HTML file to write (default: RUN/report.html)")
    report.add_argument("--data", help="FER2013 file or folder (default: $FER_DATA; without it, no face sections)")

    ensemble = commands.add_parser("ensemble", help="one model from runs: test-time augmentation, averaged members")
    ensemble.add_argument("runs", nargs="+", help="run directories or .keras files (the members; an ensemble "
                          "adds its members, each weighing as much as any other)")
    ensemble.add_argument("--tta", choices=("none", "flip", "ten"), default="ten",
                          help="views per member: center only, + mirror, or ten crops (default: %(default)s)")
    ensemble.add_argument("--names", nargs="+", help="member names, prefixes of their layer names (default: model names)")
    ensemble.add_argument("--out", required=True, help="run directory to write (model.keras, config.json, metrics.json)")
    ensemble.add_argument("--data", help="FER2013 for scoring on PublicTest (default: $FER_DATA; skipped without)")

    calibrate = commands.add_parser(
        "calibrate", help="re-estimate a run's BatchNorm statistics on Training faces; keep them if PublicTest rises")
    calibrate.add_argument("run", help="run directory (model.keras; metrics.json and predictions.npz are rewritten), "
                           "or another NAME.keras in one (NAME.metrics.json, NAME.predictions.npz)")
    calibrate.add_argument("--faces", type=int, default=8192, help="Training faces to average over (default: %(default)s)")
    weights = calibrate.add_mutually_exclusive_group()
    weights.add_argument("--last-epoch", action="store_true",
                         help="calibrate the last checkpoint (the final epoch) instead; kept only if it beats model.keras")
    weights.add_argument("--average", type=int, default=0, metavar="K",
                         help="calibrate the mean of the weights of the run's last K epochs instead (stochastic weight "
                              "averaging; needs fer train --snapshots K or more); kept only if it beats model.keras")
    calibrate.add_argument("--data", help="FER2013 file or folder (default: $FER_DATA)")

    filters = commands.add_parser("filters", help="precompute the gradient-ascent images of every conv filter")
    filters.add_argument("run", help="run directory or .keras file; images go to RUN/filters/")
    filters.add_argument("--layers", nargs="+", metavar="LAYER", help="conv layers (default: all)")
    return parser


def _train_config(args: argparse.Namespace):
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def cmd_train(args: argparse.Namespace) -> None:
    from fer_core.training.loop import train

    run = train(_train_config(args), restart=args.restart)
    print(f"run: {run.root}")
    if run.metrics_file.is_file():
        print(f"public accuracy: {run.metrics()['accuracy']:.5f}")


def cmd_data(args: argparse.Namespace) -> None:


    start = time.perf_counter()
    dataset = load_fer2013(args.data, ferplus=args.ferplus)
    print(f"{dataset.source} (loaded in {time.perf_counter() - start:.2f} s)")
    print(f"{'split':8s} {'images':>7s}  " + " ".join(f"{e[:8]:>8s}" for e in EMOTIONS))
    for name, split in dataset.splits.items():
        counts = np.bincount(split.labels, minlength=NUM_CLASSES) if split.labeled else None
        cells = " ".join(f"{c:8d}" for c in counts) if counts is not None else "(unlabeled)"
        print(f"{name:8s} {len(split):7d}  {cells}")
    _print_votes(dataset)
    _print_shift(dataset)


def _print_votes(dataset) -> None:
    """Which splits carry FER+ votes, and from which file."""
    if dataset.votes_file is None:
        print("FER+ votes: none (put fer2013new.csv beside the FER2013 CSV, or pass --ferplus PATH)")
        return
    voted = {name: int(s.votes.any(axis=1).sum()) for name, s in dataset.splits.items() if s.votes is not None}
    counts = ", ".join(f"{name} {n:,}" for name, n in voted.items()) or "no face"
    print(f"FER+ votes for {counts} (from {dataset.votes_file})")


def _print_shift(dataset) -> None:
    """Brightness, contrast and sharpness per split, and a warning when Training differs from the test splits."""
    found = compare_splits(dataset)
    if not found.profiles:
        return
    print(f"\n{'split':8s} {'bright':>7s} {'contrast':>9s} {'sharpness':>10s}   (medians per face)")
    for name, p in found.profiles.items():
        print(f"{name:8s} {p.brightness:7.1f} {p.contrast:9.1f} {p.sharpness:10.4f}")
    if found.warning:
        print(f"warning: {found.warning}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from fer_core.models.builders import load_model

    model = load_model(args.run)
    public = load_fer2013(args.data, ferplus=args.ferplus)["public"]
    run = Run.of_model(args.run)
    metrics = evaluate_run(run, model, public)
    print(f"public accuracy: {metrics['accuracy']:.5f} ({metrics['samples']} images) -> {run.metrics_file}")
    for emotion, row in metrics["per_class"].items():
        print(f"  {emotion:9s} precision {row['precision']:.3f}  recall {row['recall']:.3f}  "
              f"f1 {row['f1']:.3f}  n={row['support']}")
    print("most confused: " + "; ".join(confusion_sentences(np.asarray(metrics["confusion_matrix"]), 5)))
    if "ferplus" in metrics:
        _print_ferplus(metrics)


def _print_ferplus(metrics: dict) -> None:
    """The FER+ lines of ``fer evaluate``: accuracy against the majority, the sides, the shared confusions."""

    print("\n".join(summary_sentences(metrics["ferplus"])))
    pairs = confused_pairs(np.asarray(metrics["confusion_matrix"]), 5)
    annotators = np.asarray(metrics["ferplus"]["annotator_confusion"])
    print("the model's top confusions beside the annotators': " + "; ".join(
        shared_confusion_sentences(pairs, annotators)))


def cmd_predict(args: argparse.Namespace) -> None:
    from fer_core.models.builders import load_model

    if args.images:
        _predict_photos(args.run, args.images)
        return
    model = load_model(args.run)
    split = load_fer2013(args.data)[args.split]
    out = Path(args.out) if args.out else Run.of_model(args.run).submission_file
    write_submission(out, split.ids, predict_proba(model, split.images))
    print(f"wrote {len(split)} predictions for the {args.split} split to {out}")


def _predict_photos(run: str, paths: list[str]) -> None:
    """One line per face found in each photo (the dashboard's Your photo page finds and crops the same)."""
    from fer_core.models.builders import load_model

    found = [(path, faces_in(read_photo(path))) for path in paths]  # validate all before loading the model
    model = load_model(run)
    for path, faces in found:
        tops = top_k(predict_proba(model, [face for _, face in faces]))
        for number, ((box, _), top) in enumerate(zip(faces, tops), start=1):
            where = f"face {number} at x={box[0]} y={box[1]} w={box[2]} h={box[3]}" if box else "no face found; whole image"
            print(f"{path}: {where}: " + ", ".join(f"{name} {p:.3f}" for name, p in top))


def cmd_calibrate(args: argparse.Namespace) -> None:
    from fer_core.training.precise_bn import calibrate_run

    if args.faces < 1:
        raise FerError("--faces must be at least 1")
    if args.average < 0:
        raise FerError(f"--average {args.average}: expected a number of epochs")
    before, after, kept = calibrate_run(Run.of_model(args.run), load_fer2013(args.data), args.faces,
                                        last_epoch=args.last_epoch, average=args.average)
    verdict = "kept: model.keras and metrics.json rewritten" if kept else "not kept: the model is unchanged"
    source = (" (last epoch's weights)" if args.last_epoch else
              f" (mean of the last {args.average} epochs' weights)" if args.average else "")
    print(f"public accuracy {before:.5f} -> {after:.5f}{source} with BatchNorm statistics of {args.faces} Training "
          f"faces; {verdict}")


def cmd_report(args: argparse.Namespace) -> None:
    dataset = load_optional_dataset(args.data)
    out = Path(args.out) if args.out else Run.of_model(args.run).report_file
    path = write_report(args.run, out, dataset, ablation_dir=args.ablation, layer=args.layer, face_index=args.face)
    print(f"wrote {path}")


def cmd_ensemble(args: argparse.Namespace) -> None:
    from fer_core.models.builders import load_model
    from fer_core.models.ensemble import build_ensemble, ensemble_members, logits_output, member_names

    run = Run(Path(args.out))
    existing = run.config() if run.config_file.is_file() else {"model": ENSEMBLE}
    if not isinstance(existing, dict) or existing.get("model") != ENSEMBLE:
        raise FerError(f"{run.root}: holds a training run or another config.json; write the ensemble to another --out")
    members, sources = [], []  # an ensemble among the runs adds its members: (path, member name) each
    for path in args.runs:
        loaded = load_model(path)
        inner = ensemble_members(loaded)
        if not inner:
            logits_output(loaded, str(path))  # one line naming the file when it has no logits layer
        members += inner or [loaded]
        sources += [(path, member.name) for member in inner] or [(path, None)]
    names = args.names or member_names(members)
    model = build_ensemble(members, names, args.tta)
    records = [member_record(path, inner) for path, inner in sources]  # a bad member file fails here
    histories = {n: history for n, (_, history, _) in zip(names, records)}
    seconds = {n: round(s, 1) for n, (_, _, s) in zip(names, records)}
    with atomic_path(run.model_file) as tmp:  # nothing in --out is replaced until the data has loaded too
        model.save(tmp)  # an --out that cannot be written fails here, before the data is parsed
        dataset = load_optional_dataset(args.data)
        for stale in (run.metrics_file, run.predictions_file):  # an earlier ensemble's
            stale.unlink(missing_ok=True)
    write_json(run.config_file, {"model": ENSEMBLE, "members": [source for source, _, _ in records],
                                 "names": names, "tta": args.tta, "training_seconds": seconds})
    run.write_history(merge_histories(histories))
    plural = "s" if len(members) > 1 else ""
    print(f"wrote {run.model_file} ({len(members)} member{plural}: {', '.join(names)}; tta {args.tta})")
    print("training time (history.csv): " + ", ".join(f"{n} {format_duration(s)}" for n, s in seconds.items())
          + f"; all {format_duration(sum(seconds.values()))}")
    if dataset is not None and "public" in dataset and dataset["public"].labeled:
        metrics = evaluate_run(run, model, dataset["public"])
        print(f"public accuracy: {metrics['accuracy']:.5f} ({metrics['samples']} images) -> {run.metrics_file}")


def cmd_filters(args: argparse.Namespace) -> None:

    path = model_file(args.run)
    start = time.perf_counter()

    def progress(layer: str, fraction: float) -> None:
        end = "\n" if fraction >= 1 else ""
        print(f"\r{layer}: {fraction:4.0%}  ({time.perf_counter() - start:.0f} s)", end=end, file=sys.stderr, flush=True)

    folder = precompute(path, args.layers, progress)
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"wrote {folder} ({size / 2**20:.1f} MB) in {time.perf_counter() - start:.0f} s")


NEEDS_DATA = ("train", "data", "evaluate", "calibrate")  # commands that fail without FER2013 (predict --split too)
NO_TENSORFLOW = ("data",)


def _check_predict(args: argparse.Namespace) -> None:
    """``fer predict`` takes image files or ``--split``; ``--out`` and ``--data`` only with ``--split``."""
    if bool(args.images) == bool(args.split):
        raise FerError("predict needs either image files or --split (not both)")
    if args.images and (args.out or args.data):
        raise FerError(f"{'--out' if args.out else '--data'} goes with --split: for image files fer predict prints "
                       "each face's top 3 emotions")


def check_inputs(args: argparse.Namespace) -> None:
    """What can be checked before TensorFlow loads (a second, not ten): every model file, the dataset's place,
    every image file, the ablation folder; for ``fer train`` its options and whether its folder is free.

    Raises:
        FerError: the first problem, in one line.
    """
    if args.command == "predict":
        _check_predict(args)
    for path in [getattr(args, "run", None), getattr(args, "init", None), *(getattr(args, "runs", None) or [])]:
        if path is not None:
            model_file(path)
    if getattr(args, "data", None) is not None or args.command in NEEDS_DATA or getattr(args, "split", None):
        find_data(args.data)
    for path in getattr(args, "images", None) or []:
        read_photo(path)  # decoded as fer predict will (Pillow only, no TensorFlow yet)
    if getattr(args, "ablation", None) and not Path(args.ablation).is_dir():
        raise FerError(f"{args.ablation}: no such folder (--ablation takes a folder of runs)")
    if args.command == "calibrate":
        check_unlocked(Run.of_model(args.run).root)
    if args.command == "train":
        config = _train_config(args)
        config.check()
        if not os.environ.get("TF_CONFIG"):  # in a cluster only the chief locks (fer_core.training.train)
            check_unlocked(config.run_dir())
        if not args.restart:
            check_resumable(config.run_dir())


COMMANDS = {
    "train": cmd_train,
    "data": cmd_data,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "report": cmd_report,
    "filters": cmd_filters,
    "calibrate": cmd_calibrate,
    "ensemble": cmd_ensemble,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        check_inputs(args)
        if args.command not in NO_TENSORFLOW:
            import_keras_quietly()
        COMMANDS[args.command](args)
    except (FerError, OSError) as exc:  # a FerError's message is its line; an OSError names its path
        print(f"fer: error: {describe_os_error(exc) if isinstance(exc, OSError) else exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fer: interrupted (a training run resumes from its last finished epoch)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
