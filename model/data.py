"""fastai DataLoaders over a scanned class-per-folder tree, with the seed's augmentation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
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

from model.config import Augmentation
from model.data_checks import unknown_validation_classes
from model.images import ImageError, load_rgb
from model.preprocess import InputPolicy, fit_to_input
from model.scan import DatasetScan


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
    device: str | None = None,
    num_workers: int = 0,
    require_validation: bool = True,
) -> DataLoaders:
    """DataLoaders from scanned files: a seeded random split (of whole cells when `cell_groups`
    numbers each training file's cell and `split_by_cell`), or `valid` as validation set.
    With `cell_groups`, `max_copies_per_cell` keeps at most that many images of each cell.
    A split that leaves nothing to validate on, or a class without training images, is refused
    (ValueError) unless `require_validation` is off (a preview of training batches).

    Labels are the class folder names of `train`; a validation folder must use the same names.
    """
    items = [LabelledImage(path, label) for path, label in train.files]
    if valid is None and cell_groups is not None and split_by_cell:
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
    reader = ReadOrSubstitute(items)
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=train.classes)),
        get_x=reader,
        get_y=item_label,
        splitter=checked_split(splitter, train.classes) if require_validation else splitter,
        item_tfms=FitToInput(policy),
        batch_tfms=[*augmentation.transforms(), Normalize.from_stats(policy.mean, policy.std)],
    )
    dls = block.dataloaders(items, bs=batch_size, device=device, num_workers=num_workers)
    dls.unreadable = reader.unreadable  # filled as training reads; see ReadOrSubstitute
    return dls


def _cap_copies(
    items: list[LabelledImage], valid_indices: list[int], groups: np.ndarray, most: int, seed: int
) -> tuple[list[LabelledImage], list[int]]:
    """At most `most` items of each group (drawn at random), and where the validation items
    now stand; `most` 0 keeps everything."""
    if most <= 0:
        return items, valid_indices
    rng = np.random.default_rng(seed)
    kept: list[int] = []
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        kept += rng.permutation(members)[:most].tolist()
    kept.sort()
    valid = set(valid_indices)
    return [items[i] for i in kept], [position for position, i in enumerate(kept) if i in valid]


def split_whole_groups(groups: np.ndarray, labels: list[str], valid_pct: float, seed: int) -> list[int]:
    """Indices of a validation set made of whole groups, drawn at random within each class;
    a group goes in when at least half of it fits under `valid_pct` of its class, and each
    class keeps at least one group for training. Raises ValueError when no group goes in."""
    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels)
    chosen: list[np.ndarray] = []
    for label in sorted(set(labels)):
        members = np.flatnonzero(labels_array == label)
        class_groups, sizes = np.unique(groups[members], return_counts=True)
        target, count, taken = valid_pct * len(members), 0, []
        for index in rng.permutation(len(class_groups))[: len(class_groups) - 1]:
            if count + sizes[index] / 2 <= target:
                taken.append(class_groups[index])
                count += sizes[index]
        chosen.append(members[np.isin(groups[members], taken)])
    indices = np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)
    if len(indices) == 0:
        raise ValueError("the images cannot be split by cell: in every class they all look like copies of one cell")
    return indices.tolist()
