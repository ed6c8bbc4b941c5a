"""`bloodcell train | classify | evaluate | combine | calibrate | finetune | convert | session | info`: the engine
on a terminal, without Qt. The parser and the reading commands live here; model-writing commands in
`cli_models`, session commands in `cli_session`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from model import __version__
from model.cli.guard import (
    check_output,
    finite_float,
    interrupt_on_sigterm,
    non_negative_int,
    positive_int,
    printable_streams,
    say_not_used,
    share,
    within,
)
from model.cli.models import run_calibrate, run_combine, run_convert, run_finetune, run_match_lab, run_train
from model.cli.session import run_session_export, run_session_info, run_session_verify
from model.common.atomic import atomic_writer
from model.common.editions import WHERE_TO_TRAIN, program_name, training_available
from model.common.formatting import terminal_path
from model.common.resources import default_model_path
from model.fileformat.header import ModelFileError, ModelInfo, read_info
from model.images.magnification import AUTO, LIMITS, fixed_magnification
from model.networks.catalogue import ARCHITECTURES, can_match_lab
from model.training import limits
from model.unfamiliar.statistics import DEFAULT_PASS_SHARE


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code: 0 done, 1 an unexpected failure, 2 refused (bad input,
    with the reason on stderr), 130 interrupted."""
    printable_streams()
    interrupt_on_sigterm()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in TRAINING_COMMANDS and not training_available():
        print(f"error: `{program_name()} {argv[0]}` cannot run here. {WHERE_TO_TRAIN}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train" and args.split_by_cell and args.valid:
        parser.error("--split-by-cell splits the training folder; with --valid there is no split to make")
    try:
        missing = missing_inputs(args)
        if missing:
            print(f"error: {missing}", file=sys.stderr)
            return 2
        return args.run(args)
    except ModelFileError as error:
        print(f"error: model file {error}", file=sys.stderr)
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: not enough memory for this command", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - a terminal gets a sentence, never a traceback
        print(f"error: unexpected failure ({type(error).__name__}: {error})", file=sys.stderr)
        return 1
    return 2


USAGE = """PROG                     open the window
       PROG IMAGE_OR_FOLDER...  open the window and classify these
       PROG COMMAND ...         work headless; COMMAND is one of those below"""

# Arguments that name files or folders to read: each must exist before any work starts (a script
# with a typo must see a failure, not an empty result with exit 0).
INPUT_ARGUMENTS = ("paths", "data", "images", "models", "model", "folder", "file", "test", "valid", "weights")


def missing_inputs(args: argparse.Namespace) -> str | None:
    """The inputs given on the command line that do not exist, in one sentence, or None."""
    given: list[Path] = []
    for name in INPUT_ARGUMENTS:
        value = getattr(args, name, None)
        given += [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, Path)]
    missing = [path for path in given if not os.path.lexists(path)]
    if not missing:
        return None
    names = ", ".join(terminal_path(path) for path in missing)
    return f"{names}: no such file or folder" if len(missing) == 1 else f"these do not exist: {names}"


# The commands that change or make networks: they need torch, which BloodCell Review leaves out.
TRAINING_COMMANDS = ("train", "combine", "calibrate", "finetune", "match-lab", "convert")


def build_parser() -> argparse.ArgumentParser:
    from model.adaptation.settings import FinetuneSettings
    from model.images.preprocess import FRAMINGS
    from model.training.settings import TrainConfig

    tuning = FinetuneSettings()
    prog = program_name()
    parser = argparse.ArgumentParser(
        prog=prog,
        usage=USAGE.replace("PROG", prog),
        description="Classify white blood cell images. Without arguments, or given image files or folders, "
        f"`{prog}` opens the window (and classifies them); with a command below it works headless.",
    )
    parser.add_argument("--version", action="version", version=f"{prog} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    full = training_available()

    def training_command(name: str, help: str) -> argparse.ArgumentParser:
        """A command that makes or changes networks: listed only where it can run (BloodCell
        Review refuses it by name before parsing, with where training is done)."""
        return commands.add_parser(name, help=help) if full else argparse.ArgumentParser(prog=f"{prog} {name}")

    train = training_command(
        "train", help="train a model on folders with one subfolder per class (several folders: several labs)"
    )
    train.add_argument("data", type=Path, nargs="+", help="one folder per source (lab); the same class folders")
    split = train.add_mutually_exclusive_group()
    split.add_argument(
        "--valid-pct", type=within(limits.VALID_SHARE), default=0.2, help="random validation share (default 0.2)"
    )
    split.add_argument("--valid", type=Path, help="a separate validation folder")
    train.add_argument(
        "--split-by-cell",
        action="store_true",
        help="draw the random validation share as whole cells (copies of one cell stay together)",
    )
    train.add_argument("--test", type=Path, help="a test folder, evaluated after training and recorded")
    defaults = TrainConfig(data=Path("."))
    train.add_argument("--arch", default=defaults.arch, help=f"{', '.join(ARCHITECTURES)} (default {defaults.arch})")
    train.add_argument("--weights", type=Path, help="initial ResNet weights (torchvision .pth/.safetensors)")
    train.add_argument("--size", default=f"{defaults.width}x{defaults.height}", help="input WIDTHxHEIGHT")
    train.add_argument(
        "--framing",
        choices=list(FRAMINGS),
        default=defaults.framing,
        help=f"cell: centre on the stained cell; whole: the whole image (default {defaults.framing})",
    )
    train.add_argument("--epochs", type=within(limits.EPOCHS), default=defaults.epochs)
    train.add_argument("--bs", type=within(limits.BATCH_SIZE), default=defaults.batch_size, help="batch size")
    train.add_argument(
        "--lr", type=within(limits.LEARNING_RATE), default=defaults.lr, help="peak one-cycle learning rate"
    )
    train.add_argument(
        "--patience", type=within(limits.PATIENCE), default=defaults.patience, help="early stopping; 0: none"
    )
    augment = defaults.augmentation
    train.add_argument("--max-rotate", type=finite_float, default=augment.max_rotate, help="augmentation, degrees")
    train.add_argument("--max-lighting", type=finite_float, default=augment.max_lighting)
    train.add_argument("--max-zoom", type=finite_float, default=augment.max_zoom)
    train.add_argument("--max-warp", type=finite_float, default=augment.max_warp)
    train.add_argument("--min-zoom", type=finite_float, default=augment.min_zoom, help="below 1 also zooms out")
    train.add_argument("--stain", type=finite_float, default=augment.stain, help="HED stain re-mixing strength")
    train.add_argument("--hue", type=finite_float, default=augment.hue)
    train.add_argument("--saturation", type=finite_float, default=augment.saturation)
    train.add_argument(
        "--colour-cast",
        type=finite_float,
        default=augment.colour_cast,
        help="random colour balance and contrast per picture, Lab units (10: about another lab's cast)",
    )
    train.add_argument(
        "--colour-share",
        type=finite_float,
        default=augment.colour_share,
        help="the share of training pictures given the colour changes (the rest keep their own colours)",
    )
    train.add_argument(
        "--frozen-bn-stats", action="store_true", help="keep BatchNorm statistics as they are (a pretrained net's)"
    )
    train.add_argument(
        "--copies-per-cell",
        type=within(limits.COPIES_PER_CELL),
        default=0,
        help="train on at most this many copies of a cell",
    )
    train.add_argument(
        "--holdout-percent",
        type=within(limits.HOLDOUT_PERCENT),
        default=0,
        help="set aside this share of every folder by file name, never trained on (recorded)",
    )
    train.add_argument(
        "--no-balance",
        dest="balance_sources",
        action="store_false",
        help="with several folders, sample images as they come instead of each (folder, class) alike",
    )
    train.add_argument(
        "--mixup",
        type=within(limits.MIXUP),
        default=defaults.mixup,
        help="MixUp alpha: blend pairs of images and labels (0: off)",
    )
    train.add_argument(
        "--no-tta",
        dest="test_time_augmentation",
        action="store_false",
        help="classify with one view of each image instead of averaging its symmetric views (faster)",
    )
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument(
        "--split-seed",
        type=int,
        default=None,
        help="seed of the validation split when it differs from --seed (ensemble members sharing their held-out cells)",
    )
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--workers", type=non_negative_int, default=defaults.num_workers, help="data-loading processes")
    train.add_argument("--name", default=None, help="a name recorded in the model file")
    train.add_argument("--notes", default="")
    train.add_argument("--out", type=Path, required=True, help="model file to write (.safetensors)")
    train.set_defaults(run=run_train)

    classify = commands.add_parser("classify", help="classify image files and folders")
    classify.add_argument("paths", nargs="+", type=Path)
    classify.add_argument("--model", type=Path, help="model file (default: the shipped model)")
    classify.add_argument("--csv", type=Path, required=True, help="where to write one row per image")
    classify.add_argument("--bs", type=positive_int, default=64)
    classify.add_argument("--device", default="auto")
    classify.add_argument(
        "--magnification",
        type=magnification_choice,
        default=AUTO,
        help="auto: measured on the pictures themselves (default); off; or a lab's fixed factor relative to "
        "the model's training pictures (e.g. 1.8)",
    )
    classify.set_defaults(run=run_classify)

    evaluate = commands.add_parser("evaluate", help="accuracy on a folder with one subfolder per class")
    evaluate.add_argument("folder", type=Path)
    evaluate.add_argument("--model", type=Path)
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--json", type=Path, help="also write the figures as JSON")
    evaluate.add_argument(
        "--magnification",
        type=magnification_choice,
        default=AUTO,
        help="as for classify: auto (default), off, or the lab's fixed factor",
    )
    evaluate.set_defaults(run=run_evaluate)

    combine = training_command("combine", help="combine model files into one ensemble that averages them")
    combine.add_argument("models", type=Path, nargs="+")
    combine.add_argument("--test", type=Path, help="a test folder, evaluated and recorded")
    combine.add_argument("--device", default="auto")
    combine.add_argument("--name", default=None, help="a name recorded in the model file")
    combine.add_argument("--notes", default="")
    combine.add_argument("--out", type=Path, required=True, help="model file to write (.safetensors)")
    combine.set_defaults(run=run_combine)

    calibrate = training_command(
        "calibrate", help="add unfamiliar-image statistics (the Unidentified bin) to a model file"
    )
    calibrate.add_argument("model", type=Path)
    calibrate.add_argument(
        "data",
        type=Path,
        nargs="*",
        help="class-per-folder trees from the labs the model is for, split by cell into 70 %% to fit and 30 %% "
        "to set the threshold; none: the model's own training and validation images, remade from its settings",
    )
    calibrate.add_argument(
        "--pass-share", type=share, default=DEFAULT_PASS_SHARE, help="share of held-out images that pass (0.96)"
    )
    calibrate.add_argument("--device", default="auto")
    calibrate.add_argument("--out", type=Path, required=True, help="model file to write (may be MODEL itself)")
    calibrate.set_defaults(run=run_calibrate)

    finetune = training_command(
        "finetune", help="adapt a model to a lab from its verified cells (class-per-folder trees)"
    )
    finetune.add_argument("data", type=Path, nargs="+", help="class-per-folder trees of the lab's verified cells")
    finetune.add_argument("--model", type=Path, help="the model to adapt (default: the shipped model)")
    finetune.add_argument(
        "--frozen-epochs", type=non_negative_int, default=tuning.frozen_epochs, help="epochs, last layer only"
    )
    finetune.add_argument(
        "--epochs", type=positive_int, default=tuning.epochs, help="epochs training the whole network"
    )
    finetune.add_argument("--lr", type=finite_float, default=tuning.lr)
    finetune.add_argument("--bs", type=positive_int, default=tuning.batch_size)
    finetune.add_argument(
        "--held-back",
        type=share,
        default=tuning.held_back_share,
        help="share of each class's cells held back to compare",
    )
    finetune.add_argument("--seed", type=non_negative_int, default=0)
    finetune.add_argument("--device", default="auto")
    finetune.add_argument("--name", default=None, help="a name recorded in the model file")
    finetune.add_argument("--out", type=Path, required=True, help="model file to write (.safetensors)")
    finetune.set_defaults(run=run_finetune)

    match_lab = training_command(
        "match-lab",
        help="move a model's normalisation (BatchNorm statistics) to a lab's own unlabelled images; weights kept",
    )
    match_lab.add_argument("images", type=Path, nargs="+", help="the lab's images or folders of them (no labels)")
    match_lab.add_argument("--model", type=Path, help="the model to match (default: the shipped model)")
    match_lab.add_argument("--name", default=None, help="a name recorded in the model file")
    match_lab.add_argument("--out", type=Path, required=True, help="model file to write (.safetensors)")
    match_lab.set_defaults(run=run_match_lab)

    convert = training_command(
        "convert", help="write a copy of a model file with the ONNX graphs that BloodCell Review and CPUs run"
    )
    convert.add_argument("model", type=Path)
    convert.add_argument("--out", type=Path, required=True, help="model file to write (may be MODEL itself)")
    convert.set_defaults(run=run_convert)

    session = commands.add_parser("session", help="read a saved review session (.bcsession) without the window")
    session_commands = session.add_subparsers(dest="session_command", required=True, metavar="info|export|verify")
    session_info = session_commands.add_parser("info", help="sample, reviewer, sign-off, differential, audit trail")
    session_info.add_argument("file", type=Path)
    session_info.add_argument("--json", action="store_true", help="the whole session as JSON")
    session_info.set_defaults(run=run_session_info)
    session_verify = session_commands.add_parser(
        "verify", help="check that a session file is as BloodCell saved it (exit 1 naming any alteration)"
    )
    session_verify.add_argument("file", type=Path)
    session_verify.set_defaults(run=run_session_verify)
    session_export = session_commands.add_parser("export", help="the per-image CSV (and the audit trail)")
    session_export.add_argument("file", type=Path)
    session_export.add_argument("--csv", type=Path, required=True)
    session_export.add_argument("--audit", type=Path, help="also write the audit trail as CSV")
    session_export.set_defaults(run=run_session_export)

    info = commands.add_parser("info", help="show what a model file records")
    info.add_argument("model", type=Path, nargs="?")
    info.set_defaults(run=run_info)
    return parser


def magnification_choice(text: str) -> str | float | None:
    """--magnification: auto, off, or a factor."""
    if text in (AUTO, "off"):
        return None if text == "off" else AUTO
    value = finite_float(text)
    if not LIMITS[0] <= value <= LIMITS[1]:
        allowed = f"from {LIMITS[0]:g} to {LIMITS[1]:g}"
        raise argparse.ArgumentTypeError(f"{value:g} is not allowed: a magnification is {allowed}")
    return value


def adapting_advice(info: ModelInfo) -> str:
    """What the CLI suggests for a lab that looks new to the model: moving its statistics to the
    lab's own pictures where the networks keep some, else adapting it from verified cells."""
    if can_match_lab(network.arch for network in info.networks):
        return (
            "`bloodcell match-lab IMAGES --out NEW_MODEL` fits the model to this lab's own images (no labels "
            "needed); check the new model on cells your technicians verified"
        )
    return (
        "This model normalises each picture by itself, so there are no statistics to match; "
        "`bloodcell finetune VERIFIED_CELLS --out NEW_MODEL` adapts it from cells your technicians verified"
    )


def run_classify(args: argparse.Namespace) -> int:
    """Classify and write one row per image. Ctrl-C or SIGTERM ends it after the current batch:
    the rows done are written, followed by a row that says the file is incomplete."""
    from model.common.hashing import file_sha256
    from model.evaluation.ground_truth import FolderTruth
    from model.images.magnification import estimate_magnification
    from model.images.scan import expand_inputs
    from model.modelfile.opening import open_classifier
    from model.review.export import CsvExport
    from model.review.session import ImageRow, ReviewSession

    check_output(args.csv, args.paths, what="CSV file")
    model_path = args.model or default_model_path()
    classifier = open_classifier(model_path, args.device)
    classes = classifier.classes
    truth = FolderTruth(args.paths, classes)
    threshold = classifier.threshold()
    counts: Counter[str] = Counter()
    failures = unidentified = 0
    # The rows are kept and written at the end, so that each one's status can say what the whole
    # batch says (a lab new to the model sends every image to review): the CSV appears whole or
    # not at all either way (model.common.atomic).
    session = ReviewSession(classes=classes)
    interrupted = False
    started = time.monotonic()
    if args.magnification == AUTO:
        session.magnification = estimate_magnification([p for p in expand_inputs(args.paths) if isinstance(p, Path)])
    elif args.magnification is not None:
        session.magnification = fixed_magnification(args.magnification)
    say_magnification(session.magnification, args.magnification)
    with CsvExport(args.csv, classes, classifier.info.name, file_sha256(model_path)) as export:
        try:
            for result in classifier.classify(args.paths, batch_size=args.bs, magnification=session.magnification):
                row = ImageRow.from_result(result, truth(result.path), threshold)
                session.rows.append(row)
                export.write(row)  # as they come; rewritten below with what the whole batch says
                if row.unidentified:
                    unidentified += 1
                elif result.ok:
                    counts[classes[result.predicted_index]] += 1
                else:
                    failures += 1
                    say_not_used(result.path, result.error, "skipped")
        except KeyboardInterrupt:
            interrupted = True
        new_lab = session.another_lab()
        if interrupted:
            session.rows.append(ImageRow(Path(""), error=INCOMPLETE))
        export.write_session(session)
    seconds = time.monotonic() - started
    counted = sum(counts.values())
    total = counted + unidentified
    print(f"classified {total} images in {seconds:.1f} s ({total / max(seconds, 1e-9):.0f} images/s)")
    for name in classes:  # the differential: shares of the identified images
        share_of_total = counts[name] / counted if counted else 0.0
        print(f"  {name:<12} {counts[name]:6d}  {share_of_total:6.1%}")
    if threshold is None:
        print(
            "  Unidentified: not available (this model file has no unfamiliar-image statistics; "
            "`bloodcell calibrate` adds them)"
        )
    else:
        print(f"  {'Unidentified':<12} {unidentified:6d}  (not in the differential; see the unidentified column)")
    if failures:
        print(f"{failures} file(s) could not be read; see the error column of {args.csv}")
    if new_lab is not None:
        print(
            f"note: {new_lab.describe()} (status 'review' in {args.csv}; the differential above is provisional). "
            f"{adapting_advice(classifier.info)}"
        )
    print(f"wrote {args.csv}")
    if interrupted:
        print(
            f"interrupted: {args.csv} holds the {total + failures} images done and ends with an "
            "'incomplete' row; the rest were not classified",
            file=sys.stderr,
        )
        return 130
    return 0


def say_magnification(magnification, asked) -> None:
    if magnification is not None:
        print(magnification.describe())
    elif asked == AUTO:
        print("magnification: not estimated (fewer than 5 pictures with a stained cell); framed as in training")


INCOMPLETE = "INCOMPLETE: classification was interrupted here; the images after this were not classified"


def run_evaluate(args: argparse.Namespace) -> int:
    from model.evaluation.evaluate import evaluate_folder
    from model.modelfile.opening import open_classifier

    if not Path(args.folder).is_dir():  # said before the model is loaded, as train and finetune say it
        raise NotADirectoryError(f"{args.folder}: not a folder")
    if args.json:
        check_output(args.json, [args.folder], what="JSON file")
    classifier = open_classifier(args.model or default_model_path(), args.device)
    chosen = args.magnification
    framing = fixed_magnification(chosen) if isinstance(chosen, float) else chosen
    evaluation = evaluate_folder(classifier, args.folder, magnification=framing)
    if evaluation.total == 0:
        print(
            f"error: no images in subfolders named {', '.join(classifier.classes)} under {args.folder}",
            file=sys.stderr,
        )
        return 2
    print(evaluation.format_table())
    for bad in evaluation.bad_files:
        say_not_used(bad.path, bad.error, "skipped")
    if args.json:
        with atomic_writer(args.json, "w", encoding="utf-8") as stream:
            json.dump(evaluation.to_json(), stream, indent=2)
    return 0


def run_info(args: argparse.Namespace) -> int:
    path = args.model or default_model_path()
    info = read_info(path)
    print(json.dumps({"file": str(path), **info.to_json()}, indent=2))
    return 0
