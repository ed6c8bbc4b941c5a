"""`bloodcell train | combine | calibrate | finetune | convert`: the commands that write a model file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.cli.guard import check_output, say_not_used
from model.common.formatting import format_seconds
from model.common.task import TaskState
from model.fileformat.header import LoadedModel


def run_train(args: argparse.Namespace) -> int:
    from model.training.run import TrainingRun
    from model.training.settings import Augmentation, TrainConfig

    width, height = parse_size(args.size)
    config = TrainConfig(
        data=args.data[0],
        more_data=tuple(args.data[1:]),
        balance_sources=args.balance_sources,
        holdout_percent=args.holdout_percent,
        max_copies_per_cell=args.copies_per_cell,
        frozen_norm_statistics=args.frozen_bn_stats,
        valid=args.valid,
        valid_pct=args.valid_pct,
        split_by_cell=args.split_by_cell,
        seed=args.seed,
        split_seed=args.split_seed,
        arch=args.arch,
        weights_file=args.weights,
        width=width,
        height=height,
        framing=args.framing,
        augmentation=Augmentation(
            max_rotate=args.max_rotate,
            max_lighting=args.max_lighting,
            max_zoom=args.max_zoom,
            max_warp=args.max_warp,
            min_zoom=args.min_zoom,
            stain=args.stain,
            hue=args.hue,
            saturation=args.saturation,
            colour_cast=args.colour_cast,
            colour_share=args.colour_share,
        ),
        batch_size=args.bs,
        epochs=args.epochs,
        lr=args.lr,
        patience=args.patience,
        mixup=args.mixup,
        device=args.device,
        num_workers=args.workers,
        test_time_augmentation=args.test_time_augmentation,
    )
    problems = config.problems()
    if problems:
        raise ValueError("; ".join(problems))
    check_output(args.out, [*args.data, *([args.valid] if args.valid else [])], what="model file")
    run = TrainingRun(config, test_folder=args.test)
    state = TaskState(TerminalProgress())
    run.scanned = run.scan(state)
    for scan in (run.scanned.train, run.scanned.valid, *run.scanned.more):
        for bad in scan.bad_files if scan else []:
            say_not_used(bad.path, bad.reason)
    run.trained = run.train(state)
    print(f"\n{describe_end(run.trained)}")
    print(f"measuring unfamiliar-image statistics{f' and evaluating on {args.test}' if args.test else ''} ...")
    run.evaluation = run.evaluate(state, review_validation=False)
    print(describe_references(run.evaluation.references, run.evaluation.calibration_problem))
    if run.evaluation.test is not None:
        print(run.evaluation.test.format_table())
    run.save(args.out, name=args.name or args.out.stem, notes=args.notes)
    print(f"saved {args.out} ({run.trained.seconds / 60:.1f} min on {run.trained.device})")
    # The wizard's rule for ticking "use this model now", said on the terminal too.
    best = run.trained.valid_metrics or {}
    recommended, why = run.evaluation.go_live(len(run.trained.classes), float(best.get("accuracy", 0.0)))
    if not recommended:
        print(f"warning: {why}", file=sys.stderr)
    return 0


def describe_references(references, problem: str = "") -> str:
    if references is None:
        return f"unfamiliar-image statistics: not made ({problem or 'no reason given'})"
    return (
        f"unfamiliar-image statistics: fitted on {references.summary.get('fitted_on')} training images; "
        f"threshold set so that {references.who_passes()} pass"
    )


def describe_end(trained) -> str:
    """How training ended, and the epoch kept."""
    best = trained.valid_metrics
    kept = f"best epoch {best['epoch']} kept: validation accuracy {best['accuracy']:.2%}" if best else "no epoch ended"
    return f"{trained.ending}; {kept}"


def run_combine(args: argparse.Namespace) -> int:
    from model.modelfile.ensemble import combine
    from model.modelfile.torch_file import save

    check_output(args.out, args.models, what="model file")
    combined = combine(args.models, name=args.name or args.out.stem, notes=args.notes)
    info = combined.info
    if args.test:
        info.metrics["test"] = measure_on_test(combined, args.test, args.device)
    save(args.out, combined.module, info)
    print(f"saved {args.out}: an ensemble of {len(info.members)} networks")
    # Each member's statistics were standardised for that member alone; the ensemble's
    # combined score needs its own held-out distribution.
    print(
        f"it has no unfamiliar-image statistics yet: `bloodcell calibrate {args.out} DATA... --out {args.out}` "
        "adds them"
    )
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from model.modelfile.opening import open_classifier
    from model.modelfile.torch_file import load, save
    from model.training.calibrate import labelled, reference_statistics, split_folders, training_split

    check_output(args.out, args.data, what="model file")
    loaded = load(args.model)
    classifier = open_classifier(loaded, args.device)
    classes = classifier.classes
    state = TaskState(TerminalProgress())
    if args.data:
        fit, held_out, sources = split_folders(args.data, classes, state)
    else:
        settings = loaded.info.networks[0].training.get("settings")
        if not settings:
            raise ValueError(f"{args.model} records no training settings; name data folders to calibrate with")
        train_items, valid_items = training_split(settings, state)
        fit, held_out = labelled(train_items, classes), [item.path for item in valid_items]
        sources = [item.source for item in valid_items]
    references = reference_statistics(classifier, fit, held_out, state, args.pass_share, held_out_sources=sources)
    save(args.out, loaded.module, loaded.info, references=references)
    print(describe_references(references))
    print(f"saved {args.out}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Re-save a model file with its ONNX graphs; everything it records is kept."""
    from model.modelfile.torch_file import load, save

    check_output(args.out, what="model file")
    loaded = load(args.model)
    had_graphs = bool(loaded.graphs)
    save(args.out, loaded.module, loaded.info, references=loaded.references)
    networks = len(loaded.info.networks)
    print(f"saved {args.out}: {networks} ONNX graph{'s' if networks > 1 else ''} beside the weights", end="")
    print(" (rewritten from the weights)" if had_graphs else "; it now runs in BloodCell Review and on ONNX Runtime")
    return 0


def measure_on_test(loaded: LoadedModel, folder: Path, device: str) -> dict:
    """Evaluate a model about to be saved on a test folder; print the table, return what the file records."""
    from model.evaluation.evaluate import evaluate_folder
    from model.modelfile.opening import open_classifier
    from model.training.run import RunEvaluation

    print(f"evaluating on {folder} ...")
    test = evaluate_folder(open_classifier(loaded, device), folder)
    evaluation = RunEvaluation(test, Path(folder))
    print(test.format_table())
    return evaluation.test_metrics() or {}


class TerminalProgress:
    """Prints scan progress and one line per epoch; batch progress overwrites a status line."""

    def __init__(self) -> None:
        self.interactive = sys.stdout is not None and sys.stdout.isatty()

    def __call__(self, event) -> None:
        from model.common.events import BatchProgress, EpochEnd, ScanProgress, StageStart

        if isinstance(event, StageStart):
            print(event.describe(), flush=True)
        elif isinstance(event, ScanProgress) and event.done == event.total:
            print(f"{event.what}: {event.total} images")
        elif isinstance(event, BatchProgress) and self.interactive:
            print(
                f"\repoch {event.epoch + 1}/{event.n_epochs} batch {event.batch + 1}/{event.n_batches} "
                f"loss {event.loss:.3f} eta {format_seconds(event.eta)}   ",
                end="",
                flush=True,
            )
        elif isinstance(event, EpochEnd):
            print(
                f"\repoch {event.epoch + 1}/{event.n_epochs}: train loss {event.train_loss:.4f} "
                f"valid loss {event.valid_loss:.4f} accuracy {event.accuracy:.2%}"
                f"{' *best' if event.is_best else ''}  [{format_seconds(event.elapsed)} elapsed, "
                f"eta {format_seconds(event.eta)}]",
                flush=True,
            )


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 160x120, not {text!r}") from None
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise ValueError(f"--size {text}: each side must be between 16 and 4096 pixels")
    return width, height


def run_finetune(args: argparse.Namespace) -> int:
    from model.adaptation.finetune import adapt, save_adaptation
    from model.adaptation.settings import FinetuneSettings
    from model.common.hashing import file_sha256
    from model.common.resources import default_model_path
    from model.images.scan import scan_dataset
    from model.modelfile.torch_file import load
    from model.review.verified import VerifiedCell

    parent_path = args.model or default_model_path()
    check_output(args.out, [parent_path, *args.data], what="model file")
    settings = FinetuneSettings(
        frozen_epochs=args.frozen_epochs,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.bs,
        held_back_share=args.held_back,
        seed=args.seed,
        device=args.device,
    )
    parent = load(parent_path)
    cells = []
    for folder in args.data:
        scan = scan_dataset(folder)
        for bad in scan.bad_files:
            say_not_used(bad.path, bad.reason)
        cells += [VerifiedCell(path, label) for path, label in scan.files]
    print(f"adapting {parent_path} ({len(parent.info.networks)} network(s)) on {len(cells)} cells ...")
    adaptation = adapt(parent, file_sha256(parent_path), cells, settings, TaskState(TerminalProgress()))
    for warning in adaptation.warnings:
        print(f"note: {warning}")
    print(describe_adaptation(adaptation))
    print(f"verdict: {adaptation.verdict.reason}")
    references = adaptation.references
    if references is None:
        print(f"unfamiliar-image statistics: not made ({adaptation.references_problem})")
    else:
        print(describe_references(references))
    save_adaptation(adaptation, args.out, name=args.name or args.out.stem)
    print(f"saved {args.out} ({adaptation.seconds / 60:.1f} min)")
    return 0


def run_match_lab(args: argparse.Namespace) -> int:
    from model.adaptation.lab_statistics import SUGGESTED_IMAGES, match_lab, refuse_unmatchable, save_match
    from model.common.hashing import file_sha256
    from model.common.resources import default_model_path
    from model.fileformat.header import read_info
    from model.images.scan import BadFile, expand_inputs
    from model.modelfile.torch_file import load

    parent_path = args.model or default_model_path()
    check_output(args.out, [parent_path, *args.images], what="model file")
    refuse_unmatchable(read_info(parent_path))  # before any image is read or anything is promised
    paths = []
    for item in expand_inputs(args.images):
        if isinstance(item, BadFile):
            say_not_used(item.path, item.reason)
        else:
            paths.append(item)
    parent = load(parent_path)
    print(f"matching {parent_path} to {len(paths)} images of the lab ...")
    match = match_lab(parent, file_sha256(parent_path), paths, TaskState(TerminalProgress()))
    for path, reason in match.left_out:
        say_not_used(path, reason)
    print(f"BatchNorm statistics measured on {match.images_used} images ({len(match.left_out)} left out)")
    if match.images_used < SUGGESTED_IMAGES:
        print(f"note: {SUGGESTED_IMAGES} or more images give steadier statistics")
    print(
        "unfamiliar-image statistics: none (they measured the old features); the Unidentified flag is unavailable "
        "until the model is calibrated on labelled cells of this lab (bloodcell calibrate, or finetune)"
    )
    save_match(match, args.out, name=args.name or args.out.stem)
    print(f"saved {args.out} ({match.seconds:.0f} s)")
    return 0


def describe_adaptation(adaptation) -> str:
    """Cells used and the before/after figures on the held-back cells, as a small table."""
    lines = [
        "cells trained on: " + ", ".join(f"{k} {v}" for k, v in sorted(adaptation.trained.items())),
        "cells held back:  " + (", ".join(f"{k} {v}" for k, v in sorted(adaptation.held_back.items())) or "none"),
    ]
    if adaptation.before is None or adaptation.after is None:
        lines.append("no cells were held back, so before/after is not measured")
        return "\n".join(lines)
    lines.append(f"on the {adaptation.after.total} held-back cells:   before    after")
    for label, attribute in (("accuracy", "accuracy"), ("balanced accuracy", "balanced_accuracy")):
        before, after = getattr(adaptation.before, attribute), getattr(adaptation.after, attribute)
        lines.append(f"  {label:<28} {before:7.1%}  {after:7.1%}")
    lines.append(f"  {'macro-F1':<28} {adaptation.before.macro_f1:7.3f}  {adaptation.after.macro_f1:7.3f}")
    if adaptation.stopped_by_user:
        lines.append("stopped on request: the adapted weights are those reached so far")
    return "\n".join(lines)
