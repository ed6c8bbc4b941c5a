"""Accuracy, confusion matrix and per-class precision/recall/F1 against folder ground truth."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.evaluation.ground_truth import ground_truth
from model.images.magnification import AUTO, Magnification, batch_framing
from model.images.scan import expand_inputs
from model.inference.acceptance import DEFAULT_REVIEW_THRESHOLD, is_unsure

if TYPE_CHECKING:
    from model.inference.classifier import Classifier, Result, UnreadableImage

# Within this much of 1/classes, an accuracy is what guessing gives.
CHANCE_MARGIN = 0.1
PER_CLASS_HEADER = ["Class", "Precision", "Recall", "F1", "Images"]


def per_class_rows(per_class: dict[str, dict]) -> list[list[str]]:
    """The per-class table every screen and report shows, as text: from `Evaluation.per_class()`
    or a model file's recorded copy of it. An undefined figure (a class never predicted, or
    with no images) shows as a dash, never as "nan"."""

    def share(value) -> str:
        return "—" if not isinstance(value, (int, float)) or np.isnan(value) else f"{value:.1%}"

    def score(value) -> str:
        return "—" if not isinstance(value, (int, float)) or np.isnan(value) else f"{value:.3f}"

    return [
        [name, share(m.get("precision")), share(m.get("recall")), score(m.get("f1")), str(m.get("support", ""))]
        for name, m in per_class.items()
    ]


@dataclass
class Evaluation:
    """Counts of (true, predicted) pairs over `classes`, and the metrics they imply."""

    classes: list[str]
    confusion: np.ndarray
    bad_files: list[UnreadableImage] = field(default_factory=list)
    # Unfamiliar images (model.unfamiliar.statistics) among those counted; None when the model cannot tell.
    flagged: int | None = None
    # The counts on the images the app accepts without a second look: not flagged and at least
    # as confident as the review threshold.
    accepted: Evaluation | None = None

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

    @property
    def balanced_accuracy(self) -> float:
        """The mean of the per-class recalls, over the classes that have images: what accuracy
        would be if every class were equally common (labs' class shares differ)."""
        recalls = [m["recall"] for m in self.per_class().values() if m["support"] > 0]
        return float(np.mean(recalls)) if recalls else float("nan")

    @property
    def macro_f1(self) -> float:
        """The mean F1 over the classes that have images; a class never predicted counts 0."""
        scores = [0.0 if np.isnan(m["f1"]) else m["f1"] for m in self.per_class().values() if m["support"] > 0]
        return float(np.mean(scores)) if scores else float("nan")

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

    @property
    def flagged_share(self) -> float | None:
        return None if self.flagged is None or not self.total else self.flagged / self.total

    def to_json(self) -> dict:
        data = {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_f1": self.macro_f1,
            "images": self.total,
            "bad_files": len(self.bad_files),
            "confusion": self.confusion.tolist(),
            "per_class": self.per_class(),
        }
        if self.flagged is not None:
            data["unidentified"] = self.flagged
        if self.accepted is not None:
            data["accepted"] = {"accuracy": self.accepted.accuracy, "images": self.accepted.total}
        return data

    def acceptance_lines(self) -> list[str]:
        """The unfamiliar-image and accepted-image figures, in words."""
        if self.flagged is None:
            return ["Unidentified: not available (the model file has no unfamiliar-image statistics)"]
        lines = [f"Unidentified (unfamiliar images): {self.flagged}/{self.total} ({self.flagged_share:.1%})"]
        if self.accepted is not None and self.accepted.total:
            lines.append(
                f"Accepted without review (not unidentified, confident): {self.accepted.total}/{self.total} images, "
                f"accuracy {self.accepted.accuracy:.2%}"
            )
        return lines

    def format_table(self) -> str:
        """A plain-text report: per-class metrics, then the confusion matrix."""
        width = max(9, *(len(c) for c in self.classes))
        lines = [
            f"Accuracy: {self.accuracy:.2%} ({int(np.trace(self.confusion))}/{self.total} images)",
            f"Balanced accuracy: {self.balanced_accuracy:.2%}   macro-F1: {self.macro_f1:.3f}",
            *(self.acceptance_lines() if self.flagged is not None or self.accepted is not None else []),
            "",
        ]
        lines.append(f"{'class':<{width}}  precision  recall     F1  images")
        for name, precision, recall, f1, images in per_class_rows(self.per_class()):
            lines.append(f"{name:<{width}}  {precision:>9}  {recall:>6}  {f1:>5}  {images:>6}")
        lines += ["", "Confusion matrix (rows: true class, columns: predicted)"]
        lines.append(" " * width + "  " + "  ".join(f"{c[:10]:>10}" for c in self.classes))
        for name, row in zip(self.classes, self.confusion, strict=True):
            lines.append(f"{name:<{width}}  " + "  ".join(f"{v:>10d}" for v in row))
        return "\n".join(lines)


def evaluate_folder(
    classifier: Classifier,
    folder: Path | str,
    *,
    on_result: Callable[[Result], None] = lambda result: None,
    should_stop: Callable[[], bool] = lambda: False,
    review_threshold: float | None = None,
    magnification: Magnification | str | None = None,
) -> Evaluation:
    """Classify every image under `folder` and compare with its class subfolder (evaluate_labelled).

    Images in folders whose names are not among the model's classes are not counted.
    """
    folder = Path(folder)
    return evaluate_labelled(
        classifier,
        [folder],
        lambda path: ground_truth(path, folder, classifier.classes),
        on_result=on_result,
        should_stop=should_stop,
        review_threshold=review_threshold,
        magnification=magnification,
    )


def evaluate_labelled(
    classifier: Classifier,
    inputs: Sequence[Path],
    truth: Callable[[Path], int | None],
    *,
    on_result: Callable[[Result], None] = lambda result: None,
    should_stop: Callable[[], bool] = lambda: False,
    review_threshold: float | None = None,
    magnification: Magnification | str | None = None,
) -> Evaluation:
    """The one way labelled images are scored (the app, the command line, adaptation, every
    script): classify `inputs` (files and folders) with the classifier as it is, compare each
    image with `truth(path)` (None: not counted), count the unfamiliar ones, and the accuracy on
    those accepted without review. Unreadable files are listed, not counted. `magnification`:
    AUTO frames the pictures at the batch's own magnification, as `classify` does
    (model.images.magnification); None as in training."""
    review_threshold = DEFAULT_REVIEW_THRESHOLD if review_threshold is None else review_threshold
    pairs: list[tuple[int, int]] = []
    accepted: list[tuple[int, int]] = []
    flagged = 0
    bad: list[UnreadableImage] = []
    files = [item for item in expand_inputs(inputs) if isinstance(item, Path)] if magnification == AUTO else []
    framing = batch_framing(magnification, files)
    for result in classifier.classify(list(inputs), should_stop=should_stop, magnification=framing):
        on_result(result)
        if not result.ok:
            bad.append(result)
            continue
        true = truth(result.path)
        if true is None:
            continue
        pairs.append((true, result.predicted_index))
        unidentified = classifier.unidentified(result) is not None
        flagged += unidentified
        if not unidentified and not is_unsure(result.confidence, result.networks_agree, review_threshold):
            accepted.append((true, result.predicted_index))
    evaluation = Evaluation.from_pairs(classifier.classes, pairs)
    evaluation.bad_files = bad
    evaluation.flagged = flagged if classifier.references is not None else None
    evaluation.accepted = Evaluation.from_pairs(classifier.classes, accepted)
    return evaluation
