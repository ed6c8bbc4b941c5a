"""The one row schema of every per-image export (the CLI's `--csv`, the app's Export CSV) and
the one CSV cell writer they share.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage return
followed by one) as a formula, and file and class names come from outside: such a cell is
written with a leading apostrophe, as OWASP recommends for CSV injection, so it shows as text.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from model.common.atomic import atomic_writer
from model.common.formatting import display_path

if TYPE_CHECKING:
    from model.review.session import ImageRow, ReviewSession

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A value as CSV text that no spreadsheet evaluates."""
    if isinstance(value, (int, float)):  # a number we computed (-0.71) is never a formula
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # what a person sees as the column's heading in the app


def columns(classes: list[str]) -> list[Column]:
    """The export's columns, in order; `key` is the CSV header."""
    return [
        Column("path", "File"),
        # accepted, review, unidentified or unreadable (model.review.session.ReviewSession.status)
        Column("status", "Status"),
        Column("predicted", "Predicted"),
        Column("confidence", "Confidence"),
        *(Column(f"p_{name}", name) for name in classes),
        Column("unfamiliarity", "Unfamiliarity"),
        Column("unidentified", "Unidentified because"),
        # "no" when an ensemble's networks name different classes: the image is then reviewed
        # whatever its confidence (model.review.session), and this says why.
        Column("networks_agree", "Networks agree"),
        Column("verified", "Verified"),
        Column("reviewed", "Reviewed"),
        Column("final", "Final class"),
        Column("decided_by", "Decided by"),
        Column("decided_at", "Decided at (UTC)"),
        Column("true_class", "True class"),
        Column("error", "Error"),
        Column("model", "Model"),
        Column("model_sha256", "Model SHA-256"),
        # "yes" on every row when the batch looks like a lab new to the model: the differential
        # is provisional until a technician has reviewed every image (model.unfamiliar.statistics.another_lab).
        Column("provisional", "Provisional"),
        # The batch's magnification relative to the model's training pictures that framed the
        # image (model.images.magnification); empty: framed as in training.
        Column("magnification", "Magnification"),
    ]


def header(classes: list[str]) -> list[str]:
    return [column.key for column in columns(classes)]


def row_values(
    row: ImageRow,
    classes: list[str],
    model_name: str,
    model_sha256: str,
    status: str = "",
    provisional: bool = False,
    magnification: float | None = None,
) -> list[str | float]:
    """One image's cells, in `columns` order, formatted as every export writes them."""

    def name(index: int | None) -> str:
        return "" if index is None else classes[index]

    probabilities = [f"{p:.6f}" for p in row.probabilities] if row.probabilities is not None else [""] * len(classes)
    if row.model is not None:  # each image names the model that classified it
        model_name, model_sha256 = row.model.name, row.model.sha256
    return [
        display_path(row.path),
        status,
        name(row.predicted),
        "" if row.confidence is None else f"{row.confidence:.6f}",
        *probabilities,
        "" if row.unfamiliarity is None else round(row.unfamiliarity, 4),
        row.unfamiliar_reason or "",
        ("yes" if row.networks_agree else "no") if row.ok else "",
        name(row.verified),
        "yes" if row.reviewed else "no",
        name(row.final),
        row.decided_by,
        row.decided_at,
        name(row.truth),
        row.error or "",
        model_name,
        model_sha256,
        "yes" if provisional else "no",
        "" if magnification is None else round(magnification, 3),
    ]


class CsvExport:
    """Rows written as they come to a file that appears whole, or not at all (model.common.atomic)."""

    def __init__(self, path: Path | str, classes: list[str], model_name: str, model_sha256: str) -> None:
        self.path = Path(path)
        self.classes = list(classes)
        self.model_name = model_name
        self.model_sha256 = model_sha256

    def __enter__(self) -> CsvExport:
        self._context = atomic_writer(self.path, "w", newline="", encoding="utf-8")
        self._stream = self._context.__enter__()
        self._writer = csv.writer(self._stream)
        self._writer.writerow([csv_cell(key) for key in header(self.classes)])
        return self

    def write_session(self, session: ReviewSession) -> None:
        """Every row of a session, each with its status as the session judges it now, in place
        of anything written so far (the file appears only when the export ends)."""
        self._stream.seek(0)
        self._stream.truncate()
        self._writer.writerow([csv_cell(key) for key in header(self.classes)])
        provisional = session.provisional
        magnification = None if session.magnification is None else session.magnification.factor
        for row in session.rows:
            self.write(row, session.status(row), provisional, magnification)

    def write(
        self, row: ImageRow, status: str = "", provisional: bool = False, magnification: float | None = None
    ) -> None:
        values = row_values(row, self.classes, self.model_name, self.model_sha256, status, provisional, magnification)
        self._writer.writerow([csv_cell(value) for value in values])

    def __exit__(self, *exc_info) -> bool | None:
        return self._context.__exit__(*exc_info)


def write_session_csv(session: ReviewSession, path: Path | str, *, model_name: str, model_sha256: str) -> None:
    """One row per image of `session`, in the export schema, written atomically."""
    with CsvExport(path, session.classes, model_name, model_sha256) as export:
        export.write_session(session)
