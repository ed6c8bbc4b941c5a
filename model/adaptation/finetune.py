"""Adapting a trained model to one lab: fine-tuning on cells its technicians verified.

A lab that is not in the training data does worse than one that is; a few dozen of its own
verified cells per class close most of that gap (Chossegros et al. 2024: a colour transform
plus fine-tuning on at most 100 labelled images). The cells come from review (model.review.verified)
or from class-per-folder trees (`bloodcell finetune`).

Small, unbalanced sets are the rule here, so:
- part of each class's cells is held back to score the parent and the adapted model on the
  same cells (never trained on, never used to choose anything: the schedule is fixed);
- sampling gives every class the same weight, so a class with 3 cells is not drowned out;
- a class with no verified cell keeps what the parent knew of it as far as fine-tuning allows:
  the body is first frozen (only the last layer learns), then the whole network learns at a
  low rate, the earlier layers slower still (fastai's `freeze`, `fit_one_cycle`, discriminative
  learning rates: the steps of `Learner.fine_tune`, with a stop between them);
- the same augmentation as the network's training, recorded in its file, and the same
  input framing, size and normalisation;
- BatchNorm statistics follow the new lab's pictures, which is much of the adaptation.
An ensemble is adapted network by network on the same cells; none is dropped.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.adaptation.checks import coverage_problems
from model.adaptation.judgement import Verdict, input_warnings, judge
from model.adaptation.settings import FinetuneSettings
from model.common.collector import import_quietly
from model.common.events import StageStart, TrainEvent
from model.common.task import TaskState
from model.evaluation.evaluate import Evaluation, evaluate_labelled
from model.modelfile.torch_file import LoadedModel, ModelInfo
from model.networks.members import networks_of, packed
from model.review.verified import VerifiedCell
from model.unfamiliar.statistics import ReferenceStatistics

# A class needs this many cells for any to be held back (the rest train).
MIN_CELLS_TO_HOLD_BACK = 2


def hold_back(
    cells: Sequence[VerifiedCell], share: float, seed: int, groups: Sequence[int] | None = None
) -> tuple[list[VerifiedCell], list[VerifiedCell]]:
    """Split each class's distinct pictures (seeded): `share` of them held back, at least one
    when a class has `MIN_CELLS_TO_HOLD_BACK`, never all of them. `groups` (model.images.near_duplicates:
    one number per picture, shared by its copies) keeps every copy on one side; None: each cell
    is its own picture."""
    rng = np.random.default_rng(seed)
    group_of = {id(cell): group for cell, group in zip(cells, groups, strict=True)} if groups is not None else {}
    trained: list[VerifiedCell] = []
    held: list[VerifiedCell] = []
    for label in sorted({cell.label for cell in cells}):
        members = sorted((cell for cell in cells if cell.label == label), key=lambda cell: str(cell.path))
        pictures: dict[object, list[VerifiedCell]] = {}
        for cell in members:
            pictures.setdefault(group_of.get(id(cell), str(cell.path)), []).append(cell)
        distinct = list(pictures.values())
        order = rng.permutation(len(distinct))
        n_held = 0
        if share > 0 and len(distinct) >= MIN_CELLS_TO_HOLD_BACK:
            n_held = min(len(distinct) - 1, max(1, round(len(distinct) * share)))
        held += [cell for i in order[:n_held] for cell in distinct[i]]
        trained += [cell for i in order[n_held:] for cell in distinct[i]]
    return trained, held


def pictures_of_cells(cells: Sequence[VerifiedCell]) -> tuple[list[VerifiedCell], int]:
    """The cells whose picture shows a stained white cell, and how many do not (blank pictures,
    noise, a photo of something else: nothing to learn a lab from, and they would pass as cells)."""
    from model.images.cell_locator import locate_stained_cell
    from model.images.reading import ImageError, load_rgb

    kept = []
    for cell in cells:
        try:
            found = locate_stained_cell(load_rgb(cell.path)) is not None
        except (ImageError, OSError, ValueError):
            found = True  # unreadable: left for the data loader to report as such
        if found:
            kept.append(cell)
    return kept, len(cells) - len(kept)


@dataclass
class Adaptation:
    """An adapted model and what it was judged on."""

    model: LoadedModel
    references: ReferenceStatistics | None
    references_problem: str
    trained: dict[str, int]
    held_back: dict[str, int]
    before: Evaluation | None
    after: Evaluation | None
    stopped_by_user: bool
    seconds: float
    warnings: list[str] = field(default_factory=list)
    # Whether it is better, judged on every class held back (model.adaptation.judgement).
    verdict: Verdict = field(default_factory=lambda: Verdict(False, "not judged"))


def adapt(
    parent: LoadedModel,
    parent_sha256: str,
    cells: Sequence[VerifiedCell],
    settings: FinetuneSettings,
    state: TaskState,
) -> Adaptation:
    """Fine-tune every network of `parent` on `cells`; score parent and result on the held-back cells."""
    from model.images.near_duplicates import cell_groups
    from model.modelfile.opening import open_classifier

    started = time.monotonic()
    classes = parent.info.classes
    problems = settings.problems()
    cells, without_cell = pictures_of_cells(cells)
    refusals, warnings = coverage_problems(cells, classes)
    if problems or refusals:
        raise ValueError("; ".join(problems + refusals))
    groups = [int(group) for group in cell_groups([Path(cell.path) for cell in cells], should_stop=state.should_stop)]
    warnings += input_warnings([cell.label for cell in cells], groups, without_cell)
    trained_cells, held_cells = hold_back(cells, settings.held_back_share, settings.seed, groups)
    before = score(open_classifier(parent, settings.device), held_cells, state) if held_cells else None
    modules = networks_of(parent.module, parent.info.is_ensemble)
    adapted_modules = []
    stopped = False
    for index, (module, network) in enumerate(zip(modules, parent.info.networks, strict=True)):
        if state.should_stop():
            stopped = True
            adapted_modules.append(copy.deepcopy(module))  # not reached: kept as it was
            continue
        tuned, stopped_here = finetune_network(
            module, network, trained_cells, held_cells, settings, state.report, state.should_stop, index, len(modules)
        )
        adapted_modules.append(tuned)
        stopped = stopped or stopped_here
    module = packed(adapted_modules, parent.info.is_ensemble)
    # A stop ends the fine-tuning only: the weights reached are still compared and measured,
    # which takes seconds on a few held-back cells (a cancelled task's result is dropped anyway).
    state = TaskState(state.report)
    trained = dict(Counter(cell.label for cell in trained_cells))
    held = dict(Counter(cell.label for cell in held_cells))
    info = adapted_info(parent.info, parent.path, parent_sha256, settings, trained, held, stopped)
    model = LoadedModel(module=module, info=info, path=Path("<unsaved>"))
    classifier = open_classifier(model, settings.device)
    after = score(classifier, held_cells, state) if held_cells else None
    for name, evaluation in (("before", before), ("after", after)):
        if evaluation is not None:
            info.adaptations[-1][name] = evaluation_summary(evaluation)
    references, references_problem = None, "the parent model had none"
    if parent.references is not None:
        references, references_problem = lab_references(classifier, trained_cells, held_cells, state)
    return Adaptation(
        verdict=judge(before, after, classes),
        model=model,
        references=references,
        references_problem=references_problem,
        trained=trained,
        held_back=held,
        before=before,
        after=after,
        stopped_by_user=stopped,
        seconds=time.monotonic() - started,
        warnings=warnings,
    )


def finetune_network(
    module: nn.Module,
    network: ModelInfo,
    trained: Sequence[VerifiedCell],
    held: Sequence[VerifiedCell],
    settings: FinetuneSettings,
    on_event: Callable[[TrainEvent], None],
    should_stop: Callable[[], bool],
    index: int = 0,
    n_networks: int = 1,
) -> tuple[nn.Module, bool]:
    """One network fine-tuned (a copy; `module` is left as it was); whether a stop cut it short."""
    from fastai.vision.all import CrossEntropyLossFlat, Learner, accuracy, set_seed

    from model.inference.devices import resolve_device
    from model.training.callbacks import CancelOnRequest, ProgressReporter

    set_seed(settings.seed + index, reproducible=True)
    device = resolve_device(settings.device)
    dls = verified_dataloaders(network, trained, held, settings.batch_size, device)
    learn = Learner(
        dls,
        copy.deepcopy(module).float(),
        loss_func=CrossEntropyLossFlat(),
        metrics=accuracy,
        path=Path("."),
        splitter=last_layer_apart,
    )
    cancel = CancelOnRequest(should_stop)
    callbacks = [cancel, ProgressReporter(on_event, time.monotonic())]
    with learn.no_bar(), learn.no_logging():
        if settings.frozen_epochs:
            learn.freeze()
            on_event(StageStart(index, n_networks, network.arch, f"{settings.frozen_epochs} epoch(s), last layer only"))
            learn.fit_one_cycle(settings.frozen_epochs, slice(settings.lr), cbs=callbacks)
        if not cancel.cancelled:
            learn.unfreeze()
            on_event(StageStart(index, n_networks, network.arch, f"{settings.epochs} epoch(s), the whole network"))
            lr = settings.lr / 2  # as fastai's fine_tune halves it once the body learns too
            learn.fit_one_cycle(settings.epochs, slice(lr / settings.body_lr_factor, lr), cbs=callbacks)
    tuned = learn.model.eval().cpu().float()
    if not all(bool(torch.isfinite(p).all()) for p in tuned.parameters()):
        raise RuntimeError("fine-tuning diverged (the weights became NaN or infinite); nothing was kept")
    return tuned, cancel.cancelled


def last_layer_apart(model: nn.Module) -> list[list[nn.Parameter]]:
    """Parameter groups for freezing and discriminative rates: everything, then the last Linear."""
    from model.inference.backends.torch_backend import last_linear

    last = last_linear(model)
    if last is None:
        raise ValueError("the network has no final linear layer to adapt")
    head = list(last.parameters())
    head_ids = {id(p) for p in head}
    return [[p for p in model.parameters() if id(p) not in head_ids], head]


def verified_dataloaders(network: ModelInfo, trained, held, batch_size: int, device):
    """DataLoaders over the verified cells, prepared as the network was trained, every class
    sampled alike."""
    from fastai.vision.all import IndexSplitter

    from model.training.data import LabelledImage, class_balanced_weights, labelled_dataloaders
    from model.training.settings import Augmentation

    settings = network.training.get("settings") or {}
    items = [LabelledImage(cell.path, cell.label) for cell in trained]
    # fastai's loop wants a validation set; with nothing held back one batch of training cells
    # stands in (its figures are not reported).
    validation = [LabelledImage(cell.path, cell.label) for cell in (held or trained[:batch_size])]
    return labelled_dataloaders(
        items + validation,
        IndexSplitter(range(len(items), len(items) + len(validation))),
        classes=network.classes,
        policy=network.policy,
        augmentation=Augmentation.from_json(settings.get("augmentation") or {}),
        batch_size=batch_size,
        device=device,
        weights=class_balanced_weights([item.label for item in items]),
    )


def score(classifier, cells: Sequence[VerifiedCell], state: TaskState) -> Evaluation:
    """How a model classifies labelled cells (the unreadable ones are not counted)."""
    truth = {Path(cell.path): classifier.classes.index(cell.label) for cell in cells}
    return evaluate_labelled(classifier, list(truth), truth.get, should_stop=state.should_stop)


def evaluation_summary(evaluation: Evaluation) -> dict:
    return {
        "images": evaluation.total,
        "accuracy": evaluation.accuracy,
        "balanced_accuracy": evaluation.balanced_accuracy,
        "macro_f1": evaluation.macro_f1,
    }


def adapted_info(
    parent: ModelInfo,
    parent_path: Path,
    parent_sha256: str,
    settings: FinetuneSettings,
    trained: dict[str, int],
    held: dict[str, int],
    stopped: bool,
) -> ModelInfo:
    """The parent's record with this fine-tuning at the end of its chain."""
    step = {
        "cells_per_class": {name: trained.get(name, 0) for name in parent.classes},
        "held_back_per_class": {name: held.get(name, 0) for name in parent.classes},
        "settings": settings.to_json(),
        "stopped_by_user": stopped,
    }
    return parent.with_adaptation(parent_path, parent_sha256, step)


def lab_references(
    classifier, trained: Sequence[VerifiedCell], held: Sequence[VerifiedCell], state: TaskState
) -> tuple[ReferenceStatistics | None, str]:
    """Unfamiliar-image statistics of the adapted network, from the lab's own verified cells."""
    from model.training.calibrate import reference_statistics
    from model.unfamiliar.statistics import ReferenceError

    classes = classifier.classes
    try:
        fit = [(Path(cell.path), classes.index(cell.label)) for cell in trained]
        return reference_statistics(classifier, fit, [Path(cell.path) for cell in held], state), ""
    except ReferenceError as error:
        return None, str(error)


def adapt_file(
    state: TaskState, parent_path: Path, cells: Sequence[VerifiedCell], settings: FinetuneSettings
) -> Adaptation:
    """`adapt` for a background task: the parent read from its file (the running classifier
    keeps only folded weights)."""
    # The first thing, as reading the parent's networks already imports fastai (model.networks.build).
    import_quietly("fastai.vision.all")
    from model.common.hashing import file_sha256
    from model.modelfile.torch_file import load

    return adapt(load(parent_path), file_sha256(parent_path), cells, settings, state)


def save_adaptation(adaptation: Adaptation, path: Path | str, *, name: str, notes: str = "") -> Path:
    """Write the adapted model (with its lab's unfamiliar-image statistics, when made)."""
    from model.modelfile.torch_file import save

    info = adaptation.model.info
    info.name = name
    if notes:
        info.notes = notes
    return save(path, adaptation.model.module, info, references=adaptation.references)
