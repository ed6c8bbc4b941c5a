"""fastai DataLoaders over a scanned class-per-folder tree, with the seed's augmentation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from fastai.callback.data import WeightedDL
from fastai.vision.all import (
    CategoryBlock,
    DataBlock,
    DataLoaders,
    ImageBlock,
    IndexSplitter,
    Normalize,
    PILImage,
    RandomSplitter,
    Transform,
)

from model.images.preprocess import InputPolicy, fit_to_input
from model.images.reading import ImageError, load_rgb
from model.images.scan import DatasetScan
from model.training.checks import unknown_validation_classes
from model.training.settings import Augmentation
from model.training.sources import balanced_weights, split_within_sources
from model.training.splits import split_whole_groups


class FitToInput(Transform):
    """The inference resize, applied to training items so both paths see the same pixels."""

    def __init__(self, policy: InputPolicy) -> None:
        super().__init__()
        self.policy = policy

    def encodes(self, image: PILImage) -> PILImage:
        return PILImage(fit_to_input(image, self.policy))


@dataclass(frozen=True)
class LabelledImage:
    """One training item. Not a tuple: fastai transforms would map over a tuple's parts."""

    path: Path
    label: str
    source: int = 0  # which data folder (lab) it came from, when training on several


def item_image(item: LabelledImage) -> PILImage:
    return PILImage(load_rgb(item.path))


class ReadOrSubstitute:
    """Reads a training item's image; one that can no longer be read (deleted or changed on
    disk since it was checked) is replaced by a readable image of the same class, and named in
    `unreadable`, so one lost file does not end a training of hours."""

    def __init__(self, items: list[LabelledImage]) -> None:
        self.items = items
        self.unreadable: dict[Path, str] = {}

    def __call__(self, item: LabelledImage) -> PILImage:
        try:
            return item_image(item)
        except ImageError as error:
            self.unreadable[item.path] = error.reason
        for other in self.items:
            if other.label == item.label and other.path not in self.unreadable:
                try:
                    return item_image(other)
                except ImageError as error:
                    self.unreadable[other.path] = error.reason
        raise ImageError(item.path, f"no image of class {item.label} can be read any more")


def checked_split(splitter, classes: list[str]):
    """The splitter, refusing a split that leaves nothing to validate on or a class untrained."""

    def split(items: list[LabelledImage]):
        train_indices, valid_indices = splitter(items)
        if len(valid_indices) == 0:
            raise ValueError(
                f"the validation share holds no image ({len(items)} images in all): add images, "
                "raise the validation share, or give a validation folder"
            )
        trained = {items[i].label for i in train_indices}
        missing = [name for name in classes if name not in trained]
        if missing:
            raise ValueError(
                f"after setting images aside for validation, no training image is left for {', '.join(missing)}: "
                "each class needs at least 2 images"
            )
        return train_indices, valid_indices

    return split


def item_label(item: LabelledImage) -> str:
    return item.label


def build_dataloaders(
    train: DatasetScan,
    *,
    policy: InputPolicy,
    augmentation: Augmentation,
    batch_size: int,
    valid: DatasetScan | None = None,
    valid_pct: float = 0.2,
    seed: int = 42,
    cell_groups: np.ndarray | None = None,
    split_by_cell: bool = True,
    max_copies_per_cell: int = 0,
    device: str | torch.device | None = None,
    num_workers: int = 0,
    require_validation: bool = True,
    sources: np.ndarray | None = None,
    balance_sources: bool = False,
) -> DataLoaders:
    """DataLoaders from scanned files: a seeded random split (of whole cells when `cell_groups`
    numbers each training file's cell and `split_by_cell`), or `valid` as validation set.
    With `cell_groups`, `max_copies_per_cell` keeps at most that many images of each cell.
    A split that leaves nothing to validate on, or a class without training images, is refused
    (ValueError) unless `require_validation` is off (a preview of training batches).

    With `sources` (the source index of each file, model.training.sources), validation is drawn within
    each source, by cell, and `balance_sources` samples every (source, class) pair alike.

    Labels are the class folder names of `train`; a validation folder must use the same names.
    """
    items = [LabelledImage(path, label) for path, label in train.files]
    weights = None
    if valid is None and sources is not None:
        groups = cell_groups if cell_groups is not None else np.arange(len(items))
        kept = _capped_indices(groups, max_copies_per_cell, seed)
        items = [LabelledImage(items[i].path, items[i].label, int(sources[i])) for i in kept]
        labels, groups, kept_sources = [item.label for item in items], groups[kept], sources[kept]
        valid_indices = split_within_sources(groups, labels, kept_sources, valid_pct, seed)
        splitter = IndexSplitter(valid_indices)
        if balance_sources:
            in_valid = set(valid_indices)
            weights = balanced_weights(labels, kept_sources, [i for i in range(len(items)) if i not in in_valid])
    elif valid is None and cell_groups is not None and split_by_cell:
        labels = [label for _, label in train.files]
        valid_indices = split_whole_groups(cell_groups, labels, valid_pct, seed)
        items, valid_indices = _cap_copies(items, valid_indices, cell_groups, max_copies_per_cell, seed)
        splitter = IndexSplitter(valid_indices)
    elif valid is None:
        if cell_groups is not None and max_copies_per_cell > 0:
            items, _ = _cap_copies(items, [], cell_groups, max_copies_per_cell, seed)
        splitter = RandomSplitter(valid_pct=valid_pct, seed=seed)
    else:
        unknown = unknown_validation_classes(train.classes, [label for _, label in valid.files])
        if unknown:
            raise ValueError(f"validation classes not in the training data: {', '.join(unknown)}")
        splitter = IndexSplitter(range(len(items), len(items) + len(valid.files)))
        items += [LabelledImage(path, label) for path, label in valid.files]
    return labelled_dataloaders(
        items,
        checked_split(splitter, train.classes) if require_validation else splitter,
        classes=train.classes,
        policy=policy,
        augmentation=augmentation,
        batch_size=batch_size,
        device=device,
        num_workers=num_workers,
        weights=weights,
    )


def labelled_dataloaders(
    items: list[LabelledImage],
    splitter,
    *,
    classes: list[str],
    policy: InputPolicy,
    augmentation: Augmentation,
    batch_size: int,
    device: str | torch.device | None = None,
    num_workers: int = 0,
    weights: list[float] | np.ndarray | None = None,
) -> DataLoaders:
    """The one pipeline from labelled pictures to batches, for training and for adaptation: each
    picture read (an unreadable one substituted and counted), framed by `policy`, augmented on
    the batch and normalised; sampled by `weights` when given."""
    reader = ReadOrSubstitute(items)
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=classes)),
        get_x=reader,
        get_y=item_label,
        splitter=splitter,
        item_tfms=FitToInput(policy),
        batch_tfms=[*augmentation.transforms(), Normalize.from_stats(policy.mean, policy.std)],
    )

    def make(bs: int) -> DataLoaders:
        if weights is None:
            return block.dataloaders(items, bs=bs, device=device, num_workers=num_workers)
        return block.dataloaders(
            items, bs=bs, device=device, num_workers=num_workers, dl_type=WeightedDL, dl_kwargs=[{"wgts": weights}, {}]
        )

    dls = make(batch_size)
    if len(dls.train) == 0 and len(dls.train_ds) >= 2:
        # Fewer training images than a batch: fastai drops the incomplete last batch, so not
        # one would be trained on. One batch of all of them instead.
        dls = make(len(dls.train_ds))
    dls.unreadable = reader.unreadable  # filled as training reads; see ReadOrSubstitute
    return dls


def class_balanced_weights(labels: list[str]) -> list[float]:
    """Sampling weights under which every class is drawn alike, however few pictures it has."""
    counts = Counter(labels)
    return [1.0 / counts[label] for label in labels]


def _cap_copies(
    items: list[LabelledImage], valid_indices: list[int], groups: np.ndarray, most: int, seed: int
) -> tuple[list[LabelledImage], list[int]]:
    """At most `most` items of each group (drawn at random), and where the validation items
    now stand; `most` 0 keeps everything."""
    if most <= 0:
        return items, valid_indices
    kept = _capped_indices(groups, most, seed)
    valid = set(valid_indices)
    return [items[i] for i in kept], [position for position, i in enumerate(kept) if i in valid]


def _capped_indices(groups: np.ndarray, most: int, seed: int) -> list[int]:
    """At most `most` indices of each group, drawn at random, in order; all when `most` is 0."""
    if most <= 0:
        return list(range(len(groups)))
    rng = np.random.default_rng(seed)
    kept: list[int] = []
    for group in np.unique(groups):
        kept += rng.permutation(np.flatnonzero(groups == group))[:most].tolist()
    return sorted(kept)
