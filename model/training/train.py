"""Train a classifier with a fastai Learner; progress and cancellation through plain callables."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from fastai.vision.all import (
    CrossEntropyLossFlat,
    EarlyStoppingCallback,
    Learner,
    MixUp,
    accuracy,
    set_seed,
    trainable_params,
)

from model.common.events import ScanProgress, TrainEvent
from model.images.near_duplicates import cell_groups
from model.images.preprocess import InputPolicy
from model.images.scan import DatasetScan, scan_dataset
from model.inference.devices import resolve_device
from model.modelfile.torch_file import LoadedModel, ModelInfo
from model.networks.build import body_and_head, build_model
from model.networks.catalogue import architecture
from model.training.callbacks import (
    CancelOnRequest,
    FreezeNormStatistics,
    KeepBestCallback,
    ProgressReporter,
    StopOnDivergence,
)
from model.training.data import LabelledImage, build_dataloaders
from model.training.settings import TrainConfig


class TrainingError(RuntimeError):
    """Training could not run; `out_of_memory` says a smaller batch may succeed."""

    def __init__(self, message: str, *, out_of_memory: bool = False) -> None:
        super().__init__(message)
        self.out_of_memory = out_of_memory


@dataclass
class TrainedModel:
    """A trained network and what a model file records about how it came to be."""

    module: torch.nn.Module
    classes: list[str]
    arch: str
    policy: InputPolicy
    config: TrainConfig
    data_summary: dict
    history: list[dict]
    best_epoch: int | None
    # The user asked it to stop (the wizard's Stop, a cancel), as opposed to:
    stopped_by_user: bool
    # early stopping ended it: the validation loss had not improved for `patience` epochs.
    stopped_by_patience: bool
    seconds: float
    device: str
    # Validation figures of each data folder (lab), when trained on several: {root: figures}.
    valid_by_source: dict = field(default_factory=dict)
    train_items: list[LabelledImage] = field(default_factory=list)
    valid_items: list[LabelledImage] = field(default_factory=list)
    learner: Learner | None = field(default=None, repr=False)

    def model_info(self, *, name: str, notes: str = "", test_metrics: dict | None = None) -> ModelInfo:
        """The metadata a model file records: data, settings, history and metrics."""
        metrics = {"valid": self.valid_metrics}
        if self.valid_by_source:
            metrics["valid_by_source"] = self.valid_by_source
        if test_metrics:
            metrics["test"] = test_metrics
        return ModelInfo(
            arch=self.arch,
            classes=self.classes,
            policy=self.policy,
            test_time_views=self.config.test_time_views,
            name=name,
            notes=notes,
            training={
                "data": self.data_summary,
                "settings": self.config.to_json(),
                "history": self.history,
                "best_epoch": None if self.best_epoch is None else self.best_epoch + 1,
                "stopped_by_user": self.stopped_by_user,
                "stopped_by_patience": self.stopped_by_patience,
                "seconds": round(self.seconds, 1),
                "device": self.device,
            },
            metrics=metrics,
        )

    def loaded(self) -> LoadedModel:
        return LoadedModel(module=self.module, info=self.model_info(name="unsaved"), path=Path("<unsaved>"))

    @property
    def ending(self) -> str:
        """How training ended, in words."""
        epochs = len(self.history)
        if self.stopped_by_user:
            return f"stopped on request after {epochs} of {self.config.epochs} epochs"
        if self.stopped_by_patience:
            return (
                f"stopped early after {epochs} of {self.config.epochs} epochs: the validation loss had not "
                f"improved for {self.config.patience}"
            )
        return "finished its only epoch" if epochs == 1 else f"finished all {epochs} epochs"

    @property
    def valid_metrics(self) -> dict:
        if self.best_epoch is None:
            return {}
        row = self.history[self.best_epoch]
        return {"loss": row["valid_loss"], "accuracy": row["accuracy"], "epoch": self.best_epoch + 1}


NO_STOP: Callable[[], bool] = lambda: False  # noqa: E731


def fit(
    config: TrainConfig,
    on_event: Callable[[TrainEvent], None] = lambda event: None,
    should_stop: Callable[[], bool] = NO_STOP,
    scanned: tuple[DatasetScan, DatasetScan | None] | None = None,
    more_scans: list[DatasetScan] | None = None,
) -> TrainedModel:
    """Scan, build DataLoaders and a Learner, `fit_one_cycle`, and return the best weights.

    `should_stop` is polled after every batch; when it turns true, training ends within
    one batch and the best epoch so far (or the current weights, before any epoch ended)
    is returned with `stopped_by_user` set. `scanned` (and `more_scans`, the scans of
    `config.more_data`) skip checking data already checked.
    """
    started = time.monotonic()
    learn, (train_scan, valid_scan, merged, groups) = prepared_learner(
        config, on_event, should_stop, scanned, more_scans
    )
    keep_best = KeepBestCallback()
    reporter = ProgressReporter(on_event, started, keep_best)
    cancel = CancelOnRequest(should_stop)
    divergence = StopOnDivergence()
    callbacks = [keep_best, reporter, cancel, divergence]
    if config.patience > 0:
        callbacks.append(EarlyStoppingCallback(monitor="valid_loss", patience=config.patience))
    if config.mixup > 0:
        callbacks.append(MixUp(config.mixup))
    if config.frozen_norm_statistics:
        callbacks.append(FreezeNormStatistics())
    try:
        with learn.no_bar(), learn.no_logging():
            learn.fit_one_cycle(config.epochs, learning_rates(config), cbs=callbacks)
    except torch.cuda.OutOfMemoryError:
        raise TrainingError(
            f"The GPU ran out of memory at batch size {config.batch_size}; try {max(1, config.batch_size // 2)}.",
            out_of_memory=True,
        ) from None
    module = learn.model.eval().cpu().float()
    check_outcome(learn, cancel.cancelled, diverged=divergence.diverged)
    history = [
        {"epoch": i + 1, "train_loss": row[0], "valid_loss": row[1], "accuracy": row[2]}
        for i, row in enumerate(learn.recorder.values)
    ]
    return TrainedModel(
        module=module,
        classes=list(learn.dls.vocab),
        arch=config.arch,
        policy=config.policy,
        config=config,
        data_summary={
            "train": train_scan.summary(),
            "valid": valid_scan.summary() if valid_scan else describe_split(config, groups),
            "unreadable_during_training": {str(p): r for p, r in getattr(learn.dls, "unreadable", {}).items()},
            **(merged.summary() if merged is not None else {}),
        },
        valid_by_source=metrics_by_source(learn, config.sources) if merged is not None else {},
        history=[{k: float(v) if k != "epoch" else v for k, v in row.items()} for row in history],
        best_epoch=keep_best.best_epoch,
        stopped_by_user=cancel.cancelled,
        stopped_by_patience=not cancel.cancelled and len(history) < config.epochs,
        seconds=time.monotonic() - started,
        device=str(learn.dls.device),
        train_items=list(learn.dls.train_ds.items),
        valid_items=list(learn.dls.valid_ds.items),
        learner=learn,
    )


def prepared_learner(
    config: TrainConfig,
    on_event: Callable[[TrainEvent], None] = lambda event: None,
    should_stop: Callable[[], bool] = NO_STOP,
    scanned: tuple[DatasetScan, DatasetScan | None] | None = None,
    more_scans: list[DatasetScan] | None = None,
) -> tuple[Learner, tuple]:
    """The Learner a training with these settings starts from, with its split of the data
    (the same for the same settings and files: seeded), and the scans it was made from."""
    if config.problems():
        raise TrainingError("; ".join(config.problems()))
    train_scan, valid_scan = scanned or scan_training_data(config, on_event, should_stop)
    if train_scan.problems():
        raise TrainingError("; ".join(train_scan.problems()))
    merged = None
    groups: np.ndarray | None
    if config.uses_sources:
        merged = merge_training_sources(config, train_scan, more_scans, on_event, should_stop)
        train_scan = merged.scan
        groups = group_cells_by_source(merged, on_event, should_stop)
    else:
        groups = group_cells(train_scan, on_event, should_stop) if config.needs_cell_groups else None
    try:
        learn = make_learner(config, train_scan, valid_scan, groups, None if merged is None else merged.source_of)
    except ValueError as error:
        raise TrainingError(str(error)) from None
    return learn, (train_scan, valid_scan, merged, groups)


def check_outcome(learn: Learner, cancelled: bool, *, diverged: bool = False) -> None:
    """Refuse a training whose figures are not finite: its weights would give garbage."""
    # The training loss alone may be NaN without harm (an epoch of no whole batch); a NaN batch
    # loss (`diverged`), validation loss or weight is what makes a model useless.
    values = [float(row[1]) for row in learn.recorder.values]
    if (
        diverged
        or any(not math.isfinite(v) for v in values)
        or not all(bool(torch.isfinite(p).all()) for p in learn.model.parameters())
    ):
        raise TrainingError(
            "training diverged: the loss or the weights became NaN or infinite, so no model was kept. "
            "Try a lower learning rate (the learning-rate finder suggests one) or a smaller batch."
        )
    if not learn.recorder.values and not cancelled:
        raise TrainingError("training ended before any epoch finished, so there is no model to keep")


def scan_folder(
    root: Path, what: str, on_event: Callable[[TrainEvent], None], should_stop: Callable[[], bool]
) -> DatasetScan:
    result = scan_dataset(
        root,
        on_progress=lambda done, total: on_event(ScanProgress(what, done, total)),
        should_stop=should_stop,
    )
    if should_stop():
        raise TrainingError("Training was cancelled while the data were being checked.")
    return result


def scan_training_data(
    config: TrainConfig, on_event: Callable[[TrainEvent], None], should_stop: Callable[[], bool]
) -> tuple[DatasetScan, DatasetScan | None]:
    train_scan = scan_folder(config.data, "training data", on_event, should_stop)
    problems = train_scan.problems()
    if problems:
        raise TrainingError("; ".join(problems))
    valid_scan = scan_folder(config.valid, "validation data", on_event, should_stop) if config.valid else None
    return train_scan, valid_scan


def group_cells(
    train_scan: DatasetScan,
    on_event: Callable[[TrainEvent], None],
    should_stop: Callable[[], bool],
) -> np.ndarray:
    """Which training images show the same cell, for a validation split by cell."""
    try:
        return cell_groups(
            [path for path, _ in train_scan.files],
            on_progress=lambda done, total: on_event(ScanProgress("grouping copies of each cell", done, total)),
            should_stop=should_stop,
        )
    except InterruptedError:
        raise TrainingError("Training was cancelled while copies of each cell were being grouped.") from None


def merge_training_sources(
    config: TrainConfig,
    first: DatasetScan,
    more_scans: list[DatasetScan] | None,
    on_event: Callable[[TrainEvent], None],
    should_stop: Callable[[], bool],
):
    """The data folders as one list of images, less their held-out share (model.training.sources)."""
    from model.training.sources import merge_sources

    scans = [first]
    supplied: list[DatasetScan | None] = list(more_scans) if more_scans else [None] * len(config.more_data)
    for root, given in zip(config.more_data, supplied, strict=True):
        scan = given or scan_folder(Path(root), "more training data", on_event, should_stop)
        if scan.problems():
            raise TrainingError("; ".join(scan.problems()))
        scans.append(scan)
    try:
        return merge_sources(scans, config.holdout_percent)
    except ValueError as error:
        raise TrainingError(str(error)) from None


def group_cells_by_source(merged, on_event, should_stop) -> np.ndarray:
    """Copies of one cell, found within each source (a lab's cells are not another's)."""
    groups = np.zeros(len(merged.scan.files), dtype=int)
    offset = 0
    for source in range(len(merged.scans)):
        members = np.flatnonzero(merged.source_of == source)
        subset = DatasetScan(merged.scan.root, merged.scan.classes, [merged.scan.files[i] for i in members])
        local = group_cells(subset, on_event, should_stop) if len(members) else np.array([], dtype=int)
        groups[members] = local + offset
        offset += int(local.max()) + 1 if len(local) else 0
    return groups


def metrics_by_source(learn: Learner, roots: tuple[Path, ...]) -> dict:
    """Accuracy, balanced accuracy and macro-F1 on each source's validation images."""
    from model.evaluation.evaluate import Evaluation

    dl = learn.dls.valid.new(shuffle=False, drop_last=False)
    learn.model.to(learn.dls.device)
    try:
        with learn.no_bar(), learn.no_logging():
            probabilities, targets = learn.get_preds(dl=dl)
    finally:
        learn.model.cpu()
    predicted = probabilities.argmax(dim=1).tolist()
    truth = targets.tolist()
    classes = list(learn.dls.vocab)
    figures = {}
    for source, root in enumerate(roots):
        pairs = [(t, p) for item, t, p in zip(dl.items, truth, predicted, strict=True) if item.source == source]
        evaluation = Evaluation.from_pairs(classes, pairs)
        figures[str(root)] = {
            "accuracy": evaluation.accuracy,
            "balanced_accuracy": evaluation.balanced_accuracy,
            "macro_f1": evaluation.macro_f1,
            "images": evaluation.total,
        }
    return figures


def describe_split(config: TrainConfig, groups: np.ndarray | None) -> str:
    if groups is None or not config.validation_by_cell:
        return f"random {config.valid_pct:.0%} of train"
    return f"random {config.valid_pct:.0%} of train, by cell ({len(np.unique(groups))} cells found)"


def make_learner(
    config: TrainConfig,
    train_scan: DatasetScan,
    valid_scan: DatasetScan | None = None,
    groups: np.ndarray | None = None,
    sources: np.ndarray | None = None,
) -> Learner:
    set_seed(config.seed, reproducible=True)
    device = resolve_device(config.device)
    dls = build_dataloaders(
        train_scan,
        policy=config.policy,
        augmentation=config.augmentation,
        batch_size=config.batch_size,
        valid=valid_scan,
        valid_pct=config.valid_pct,
        seed=config.data_split_seed,
        cell_groups=groups,
        split_by_cell=config.validation_by_cell,
        max_copies_per_cell=config.max_copies_per_cell,
        sources=sources,
        balance_sources=config.balance_sources,
        device=device,
        num_workers=config.num_workers,
    )
    pretrained = architecture(config.arch).pretrained
    model = build_model(config.arch, len(train_scan.classes), config.weights_file, pretrained=pretrained)
    learn = Learner(
        dls,
        model,
        loss_func=CrossEntropyLossFlat(),
        metrics=accuracy,
        path=Path("."),
        splitter=body_and_head if pretrained else trainable_params,
    )
    # channels-last is ~20% faster for these convolutions on CPU too; AMP only helps on CUDA.
    learn.to_channelslast(use_amp=device.type == "cuda" and config.mixed_precision)
    return learn


# A pretrained body learns this many times slower than the new head (fastai's discriminative
# learning rates), so the ImageNet features are adjusted, not overwritten.
PRETRAINED_BODY_LR_FACTOR = 10


def learning_rates(config: TrainConfig) -> float | slice:
    if architecture(config.arch).pretrained:
        return slice(config.lr / PRETRAINED_BODY_LR_FACTOR, config.lr)
    return config.lr


def find_learning_rate(
    config: TrainConfig,
    should_stop: Callable[[], bool] = NO_STOP,
    scanned: tuple[DatasetScan, DatasetScan | None] | None = None,
) -> tuple[list[float], list[float], float]:
    """fastai's `lr_find`: the learning rates tried, the smoothed losses, and the suggestion."""
    train_scan, valid_scan = scanned or scan_training_data(config, lambda event: None, should_stop)
    learn = make_learner(config, train_scan, valid_scan)
    with learn.no_bar(), learn.no_logging(), learn.added_cbs([CancelOnRequest(should_stop)]):
        suggestion = learn.lr_find(show_plot=False)
    recorder = learn.recorder
    return [float(x) for x in recorder.lrs], [float(x) for x in recorder.losses], float(suggestion.valley)
