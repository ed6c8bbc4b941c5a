"""What is wrong or risky about training data, in plain words, before anything is trained.

Problems stop training; warnings are shown and training may go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model.images.scan import DatasetScan

# A class this many times larger than the smallest is worth a warning: an unweighted
# network then favours it.
IMBALANCE_RATIO = 1.5
# Fewer images than this in a class are too few to learn it reliably.
TINY_CLASS = 20


def unknown_validation_classes(train_classes: list[str], valid_classes: list[str]) -> list[str]:
    """Classes of a validation folder that the training folder lacks (sorted)."""
    return sorted(set(valid_classes) - set(train_classes))


def training_problems(
    train: DatasetScan, valid: DatasetScan | None = None, more: tuple[DatasetScan, ...] = ()
) -> list[str]:
    """Why these folders (and further sources, `more`) cannot be trained on; empty when they can."""
    problems = train.problems()
    if valid is not None:
        unknown = unknown_validation_classes(train.classes, valid.classes)
        if unknown:
            problems.append(f"the validation folder has classes the training folder lacks: {', '.join(unknown)}")
    for scan in more:
        problems += scan.problems()
    return problems + source_class_problems(train, more)


def source_class_problems(first: DatasetScan, others: tuple[DatasetScan, ...] | list[DatasetScan]) -> list[str]:
    """Sources trained on together must have the same class folders."""
    return [
        f"{scan.root} has the classes {', '.join(scan.classes)}; {first.root} has {', '.join(first.classes)}: "
        "every source needs the same class folders"
        for scan in others
        if sorted(scan.classes) != sorted(first.classes)
    ]


def data_warnings(counts: dict[str, int]) -> list[str]:
    """Imbalance and tiny classes, in plain words."""
    warnings = []
    present = {name: n for name, n in counts.items() if n > 0}
    if len(present) >= 2:
        largest = max(present, key=present.__getitem__)
        smallest = min(present, key=present.__getitem__)
        ratio = present[largest] / present[smallest]
        if ratio > IMBALANCE_RATIO:
            warnings.append(
                f"Classes are imbalanced: {largest} has {ratio:.1f}× as many images as {smallest}. "
                "The model may favour the larger classes."
            )
    warnings += [
        f"{name} has only {n} images; at least {TINY_CLASS} are needed to learn it reliably."
        for name, n in present.items()
        if n < TINY_CLASS
    ]
    return warnings
