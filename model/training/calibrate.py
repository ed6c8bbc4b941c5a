"""Making a model's unfamiliar-image statistics (model.unfamiliar.statistics) from labelled images.

The network's own features of training images give the class means and spread; images of the
same labs that it was not trained on give the threshold. Three ways in:

- at the end of a training (`TrainingRun`): its own training and validation images;
- `bloodcell calibrate MODEL` for a file trained here: the training's split, remade from the
  settings the file records (seeded, so the same images), when its data folders are at hand;
- `bloodcell calibrate MODEL DATA...`: class-per-folder trees, split by cell (copies of one
  cell stay on one side) into 70 % to fit and 30 % to set the threshold.

Each data folder is a lab (a source). When there are several, the threshold holds each lab's
held-out images to the pass share (model.unfamiliar.statistics.strictest_quantiles).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.common.events import ScanProgress
from model.common.task import TaskState
from model.unfamiliar.statistics import DEFAULT_PASS_SHARE, ReferenceError, ReferenceStatistics, calibrate

if TYPE_CHECKING:
    from model.inference.classifier import BatchOutputs, Classifier

# Enough images to estimate a spread well; more only cost time.
MAX_FIT_IMAGES = 4000
MAX_HELD_OUT_IMAGES = 2000
HELD_OUT_SHARE = 0.3
# One minimum for every command that fits unfamiliar-image statistics (train, calibrate, finetune
# and the Adapt dialog): fewer pictures give a threshold that says nothing, and statistics of one
# class call every other class unfamiliar.
MIN_FIT_IMAGES = 40
MIN_HELD_OUT_IMAGES = 20
MIN_CLASSES = 2

Labelled = list[tuple[Path, int]]


def network_outputs(
    classifier: Classifier, paths: Sequence[Path], state: TaskState, what: str
) -> tuple[list[np.ndarray], list[np.ndarray], list[Path]]:
    """Each network's view-averaged features and logits for the readable images of `paths`."""
    features: list[list[np.ndarray]] = []
    logits: list[list[np.ndarray]] = []
    seen: list[Path] = []

    no_cell: set[Path] = set()

    def keep(batch_paths: list[Path], outputs: BatchOutputs) -> None:
        finite = [bool(np.isfinite(row).all()) for row in outputs.probabilities]
        if not features:
            features.extend([] for _ in outputs.features)
            logits.extend([] for _ in outputs.logits)
        for store, arrays in ((features, outputs.features), (logits, outputs.logits)):
            for network, array in enumerate(arrays):
                store[network].append(array[finite])
        seen.extend(path for path, ok in zip(batch_paths, finite, strict=True) if ok)
        state.report(ScanProgress(what, len(seen), len(paths)))

    for result in classifier.classify(paths, should_stop=state.should_stop, on_outputs=keep):
        if result.ok and not result.leukocyte_found:
            no_cell.add(Path(result.path))
    if state.should_stop():
        raise InterruptedError("calibration was cancelled")
    if not seen:
        raise ReferenceError(f"none of the {len(paths)} images for {what} could be read")
    # Blank pictures, noise and anything without a stained white cell would teach the statistics
    # that such pictures are familiar: they are left out.
    cells = np.array([Path(path) not in no_cell for path in seen])
    return (
        [np.concatenate(f)[cells] for f in features],
        [np.concatenate(lg)[cells] for lg in logits],
        [path for path, keep_it in zip(seen, cells, strict=True) if keep_it],
    )


def check_reference_inputs(labels: np.ndarray, held_out: int, classes: list[str], left_out: int = 0) -> None:
    """ReferenceError, in words, unless there are enough usable pictures of enough classes."""
    without_cell = f" ({left_out} pictures without a stained white cell were left out)" if left_out else ""
    if len(labels) < MIN_FIT_IMAGES or held_out < MIN_HELD_OUT_IMAGES:
        raise ReferenceError(
            f"too few pictures to measure them: {len(labels)} to fit and {held_out} held out; at least "
            f"{MIN_FIT_IMAGES} and {MIN_HELD_OUT_IMAGES} are needed{without_cell}"
        )
    present = sorted({int(label) for label in labels})
    if len(present) < MIN_CLASSES:
        named = ", ".join(classes[i] for i in present) or "none"
        raise ReferenceError(
            f"pictures of only one class ({named}) to fit them on: every other class would look unfamiliar"
        )


def reference_statistics(
    classifier: Classifier,
    fit: Labelled,
    held_out: Sequence[Path],
    state: TaskState,
    pass_share: float = DEFAULT_PASS_SHARE,
    seed: int = 0,
    held_out_sources: Sequence[int] | None = None,
) -> ReferenceStatistics:
    """Statistics from training images with their class index, a threshold from held-out images
    (with `held_out_sources`, the lab of each: every lab is held to the pass share)."""
    rng = np.random.default_rng(seed)
    if len(fit) > MAX_FIT_IMAGES:
        fit = [fit[i] for i in sorted(rng.choice(len(fit), MAX_FIT_IMAGES, replace=False))]
    held_out = list(held_out)
    source_of = None if held_out_sources is None else dict(zip(held_out, held_out_sources, strict=True))
    if len(held_out) > MAX_HELD_OUT_IMAGES:
        held_out = [held_out[i] for i in sorted(rng.choice(len(held_out), MAX_HELD_OUT_IMAGES, replace=False))]
    label_of = dict(fit)
    fit_features, fit_logits, fit_seen = network_outputs(
        classifier, [path for path, _ in fit], state, "measuring training images"
    )
    labels = np.array([label_of[path] for path in fit_seen])
    held_features, held_logits, held_seen = network_outputs(classifier, held_out, state, "measuring held-out images")
    left_out = len(fit) + len(held_out) - len(fit_seen) - len(held_seen)
    check_reference_inputs(labels, len(held_seen), classifier.classes, left_out)
    return calibrate(
        (fit_features, fit_logits, labels),
        (held_features, held_logits),
        len(classifier.classes),
        pass_share,
        held_out_sources=None if source_of is None else [source_of[path] for path in held_seen],
    )


def labelled(items, classes: list[str]) -> Labelled:
    """(path, class index) of training items (model.training.data.LabelledImage) of known classes."""
    return [(Path(item.path), classes.index(item.label)) for item in items if item.label in classes]


def training_split(settings: dict, state: TaskState) -> tuple[list, list]:
    """The training and validation items of the training a model file records, remade from its
    settings (the split is seeded): raises ValueError when the data are not at hand."""
    from model.training.settings import TrainConfig
    from model.training.train import TrainingError, prepared_learner

    config = TrainConfig.from_json(settings)
    missing = [str(folder) for folder in config.sources if not Path(folder).is_dir()]
    if missing:
        raise ValueError(f"the model's training folders are not here ({', '.join(missing)}); name data folders")
    try:
        learn, _ = prepared_learner(config, state.report, state.should_stop)
    except TrainingError as error:
        raise ValueError(str(error)) from None
    return list(learn.dls.train_ds.items), list(learn.dls.valid_ds.items)


def split_folders(
    folders: Sequence[Path], classes: list[str], state: TaskState, seed: int = 0
) -> tuple[Labelled, list[Path], list[int]]:
    """Class-per-folder trees split by cell: (path, class index) to fit on, paths to set the
    threshold with and the folder (lab) of each. Folders named for no class of the model are
    left out."""
    from model.images.near_duplicates import cell_groups
    from model.images.scan import scan_dataset
    from model.training.splits import split_whole_groups

    files: Labelled = []
    folder_of: list[int] = []
    for index, folder in enumerate(folders):
        scan = scan_dataset(Path(folder), should_stop=state.should_stop)
        found = [(path, classes.index(label)) for path, label in scan.files if label in classes]
        files += found
        folder_of += [index] * len(found)
    if len(files) < 10:
        raise ValueError(f"calibrating needs images in class folders named {', '.join(classes)}; found {len(files)}")
    groups = cell_groups(
        [path for path, _ in files],
        on_progress=lambda done, total: state.report(ScanProgress("grouping copies of each cell", done, total)),
        should_stop=state.should_stop,
    )
    held = set(split_whole_groups(groups, [str(label) for _, label in files], HELD_OUT_SHARE, seed))
    return (
        [f for i, f in enumerate(files) if i not in held],
        [files[i][0] for i in sorted(held)],
        [folder_of[i] for i in sorted(held)],
    )
