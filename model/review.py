"""A technician's review session, free of Qt: classified images, corrections, the differential,
the review bin, ground truth and the CSV export."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from model.evaluate import Evaluation
from model.export import write_csv

if TYPE_CHECKING:
    from model.infer import Result

# Chosen from the default model on TEST (README, "Why 0.95"): its errors are mostly confident,
# so a lower threshold catches almost none of them; at 0.95 about a quarter of the errors
# land in the review bin, with 10 % of the correct answers.
DEFAULT_REVIEW_THRESHOLD = 0.95


@dataclass
class ImageRow:
    path: Path
    probabilities: tuple[float, ...] | None = None
    error: str | None = None
    truth: int | None = None
    verified: int | None = None
    reviewed: bool = False

    @property
    def ok(self) -> bool:
        return self.probabilities is not None

    @property
    def predicted(self) -> int | None:
        if self.probabilities is None:
            return None
        return max(range(len(self.probabilities)), key=self.probabilities.__getitem__)

    @property
    def confidence(self) -> float | None:
        return None if self.probabilities is None else max(self.probabilities)

    @property
    def final(self) -> int | None:
        """The class the report counts: the technician's, else the model's."""
        return self.verified if self.verified is not None else self.predicted


@dataclass
class ReviewSession:
    classes: list[str]
    threshold: float = DEFAULT_REVIEW_THRESHOLD
    rows: list[ImageRow] = field(default_factory=list)

    def class_name(self, index: int | None) -> str:
        return "" if index is None else self.classes[index]

    def add(self, result: Result, truth: int | None = None) -> ImageRow:
        row = ImageRow(result.path, result.probabilities, result.error, truth)
        self.rows.append(row)
        return row

    def clear(self) -> None:
        self.rows.clear()

    def needs_review(self, row: ImageRow) -> bool:
        return row.ok and not row.reviewed and (row.confidence or 0.0) < self.threshold

    def set_verified(self, indices: list[int], class_index: int | None) -> None:
        """Reclassify by hand (None clears it); a reclassified image counts as reviewed."""
        for i in indices:
            row = self.rows[i]
            if row.ok:
                row.verified = class_index
                row.reviewed = class_index is not None or row.reviewed

    def set_reviewed(self, indices: list[int], reviewed: bool = True) -> None:
        for i in indices:
            if self.rows[i].ok:
                self.rows[i].reviewed = reviewed

    def counts(self) -> list[int]:
        """The differential: images per class, by the technician's class where given."""
        counts = [0] * len(self.classes)
        for row in self.rows:
            if row.final is not None:
                counts[row.final] += 1
        return counts

    @property
    def classified(self) -> int:
        return sum(row.ok for row in self.rows)

    @property
    def failed(self) -> list[ImageRow]:
        return [row for row in self.rows if not row.ok]

    @property
    def review_count(self) -> int:
        return sum(self.needs_review(row) for row in self.rows)

    def evaluation(self) -> Evaluation | None:
        """How the model did against folder ground truth, where images have it."""
        pairs = [(row.truth, row.predicted) for row in self.rows if row.ok and row.truth is not None]
        return Evaluation.from_pairs(self.classes, pairs) if pairs else None

    def write_csv(self, path: Path | str, *, model_name: str, model_sha256: str) -> None:
        """One row per image, in the export schema (model.export), written atomically."""
        write_csv(path, self.rows, self.classes, model_name=model_name, model_sha256=model_sha256)
