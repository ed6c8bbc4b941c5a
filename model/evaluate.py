"""Accuracy, confusion matrix and per-class precision/recall/F1 against folder ground truth."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from model.infer import Classifier, Result


@dataclass
class Evaluation:
    """Counts of (true, predicted) pairs over `classes`, and the metrics they imply."""

    classes: list[str]
    confusion: np.ndarray
    bad_files: list[Result] = field(default_factory=list)

    @classmethod
    def from_pairs(cls, classes: list[str], pairs: Iterable[tuple[int, int]]) -> Evaluation:
        confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
        for true, predicted in pairs:
            confusion[true, predicted] += 1
        return cls(classes=list(classes), confusion=confusion)

    @property
    def total(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.total) if self.total else float("nan")

    def per_class(self) -> dict[str, dict[str, float]]:
        correct = np.diag(self.confusion).astype(float)
        predicted = self.confusion.sum(axis=0)
        actual = self.confusion.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(predicted > 0, correct / predicted, np.nan)
            recall = np.where(actual > 0, correct / actual, np.nan)
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), np.nan)
        return {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(actual[i]),
            }
            for i, name in enumerate(self.classes)
        }

    def to_json(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "images": self.total,
            "bad_files": len(self.bad_files),
            "confusion": self.confusion.tolist(),
            "per_class": self.per_class(),
        }

    def format_table(self) -> str:
        """A plain-text report: per-class metrics, then the confusion matrix."""
        width = max(9, *(len(c) for c in self.classes))
        lines = [f"Accuracy: {self.accuracy:.2%} ({int(np.trace(self.confusion))}/{self.total} images)", ""]
        lines.append(f"{'class':<{width}}  precision  recall     F1  images")
        for name, m in self.per_class().items():
            scores = f"{m['precision']:9.1%}  {m['recall']:6.1%}  {m['f1']:5.3f}"
            lines.append(f"{name:<{width}}  {scores}  {m['support']:6d}")
        lines += ["", "Confusion matrix (rows: true class, columns: predicted)"]
        lines.append(" " * width + "  " + "  ".join(f"{c[:10]:>10}" for c in self.classes))
        for name, row in zip(self.classes, self.confusion, strict=True):
            lines.append(f"{name:<{width}}  " + "  ".join(f"{v:>10d}" for v in row))
        return "\n".join(lines)


def ground_truth(path: Path, root: Path, classes: list[str]) -> int | None:
    """The class index named by the first folder below `root` on `path`, if it is a class."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None
    if len(parts) < 2:
        return None
    lookup = {name.casefold(): i for i, name in enumerate(classes)}
    return lookup.get(parts[0].casefold())


def evaluate_folder(
    classifier: Classifier,
    folder: Path | str,
    *,
    on_result: Callable[[Result], None] = lambda result: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Evaluation:
    """Classify every image under `folder` and compare with its class subfolder.

    Images in folders whose names are not among the model's classes are not counted.
    """
    folder = Path(folder)
    pairs: list[tuple[int, int]] = []
    bad: list[Result] = []
    for result in classifier.classify([folder], should_stop=should_stop):
        on_result(result)
        if not result.ok:
            bad.append(result)
            continue
        true = ground_truth(result.path, folder, classifier.classes)
        if true is not None:
            pairs.append((true, result.predicted_index))
    evaluation = Evaluation.from_pairs(classifier.classes, pairs)
    evaluation.bad_files = bad
    return evaluation
