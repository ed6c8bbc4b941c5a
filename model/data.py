"""fastai DataLoaders over a scanned class-per-folder tree, with the seed's augmentation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
from model.images import load_rgb
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
    device: str | None = None,
    num_workers: int = 0,
) -> DataLoaders:
    """DataLoaders from scanned files: a seeded random split, or `valid` as validation set.

    Labels are the class folder names of `train`; a validation folder must use the same names.
    """
    items = [LabelledImage(path, label) for path, label in train.files]
    if valid is None:
        splitter = RandomSplitter(valid_pct=valid_pct, seed=seed)
    else:
        unknown = sorted({label for _, label in valid.files} - set(train.classes))
        if unknown:
            raise ValueError(f"validation classes not in the training data: {', '.join(unknown)}")
        splitter = IndexSplitter(range(len(items), len(items) + len(valid.files)))
        items += [LabelledImage(path, label) for path, label in valid.files]
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=train.classes)),
        get_x=item_image,
        get_y=item_label,
        splitter=splitter,
        item_tfms=FitToInput(policy),
        batch_tfms=[*augmentation.transforms(), Normalize.from_stats(policy.mean, policy.std)],
    )
    return block.dataloaders(items, bs=batch_size, device=device, num_workers=num_workers)
