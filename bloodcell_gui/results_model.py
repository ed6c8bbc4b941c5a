"""Qt's view of a ReviewSession: a table model, and the filters the views show it through."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from bloodcell_gui.style import ERROR_COLOR, WARNING_COLOR, class_color
from bloodcell_gui.thumbnails import ThumbnailCache
from model.review.export import columns as export_columns
from model.review.session import ImageRow, ModelIdentity, ReviewSession

if TYPE_CHECKING:
    from model.evaluation.classify_job import Classified

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
GROUP_ROLE = Qt.ItemDataRole.UserRole + 3  # by class, then most confident first
# The thumbnail grid's picture; not a DecorationRole, which the table would squeeze beside the name.
THUMBNAIL_ROLE = Qt.ItemDataRole.UserRole + 4
ROWS_MIME = "application/x-bloodcell-rows"

AnyIndex = QModelIndex | QPersistentModelIndex


# Export columns the table does not show as such: its Status column says them in words (the
# detail view says why an image is in review or Unidentified).
SHOWN_BY_STATUS = {
    "status",
    "provisional",
    "magnification",  # one value for the whole session: shown beside the differential
    "unidentified",
    "networks_agree",
    "reviewed",
    "final",
    "decided_by",
    "decided_at",
    "error",
    "model",
    "model_sha256",
}


@functools.lru_cache(maxsize=8)
def _shown_columns(classes: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys and titles of the columns shown, the status last: asked for on every data() call
    (thousands a second while results arrive), so made once per class list."""
    shown = [column for column in export_columns(list(classes)) if column.key not in SHOWN_BY_STATUS]
    return tuple(c.key for c in shown) + ("status",), tuple(c.title for c in shown) + ("Status",)


class ResultsModel(QAbstractTableModel):
    """One row per image: the export's columns (model.review.export) that a technician reads, then a
    status. It makes its rows' thumbnails, off the GUI thread, as views ask for them."""

    changed = Signal()
    # Rows the technician just decided on (or undid): the verified-cells store follows them.
    decided = Signal(list)

    def __init__(self, classes: list[str], threshold: float, parent=None) -> None:
        super().__init__(parent)
        self.session = ReviewSession(classes=list(classes), threshold=threshold)
        self.thumbnails = ThumbnailCache(parent=self)
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self._path_rows: dict[Path, list[int]] = {}

    # -- structure
    @property
    def classes(self) -> list[str]:
        return self.session.classes

    def _columns(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return _shown_columns(tuple(self.classes))

    def headers(self) -> list[str]:
        return list(self._columns()[1])

    def keys(self) -> list[str]:
        """Each column's export key (model.review.export), in order; the last is "status"."""
        return list(self._columns()[0])

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.session.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns()[0])

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers()[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    # -- content
    def row(self, index: int) -> ImageRow:
        return self.session.rows[index]

    def status(self, row: ImageRow) -> str:
        if not row.ok:
            return f"Unreadable: {row.error}"
        if row.verified is not None and row.verified != row.predicted:
            return "Reclassified"
        if row.reviewed:
            return "Reviewed"
        if row.unidentified:
            return "Unidentified"
        return "Review" if self.session.needs_review(row) else "OK"

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.session.rows[index.row()]
        column = index.column()
        if role == ROW_ROLE:
            return index.row()
        if role == GROUP_ROLE:
            return 1e9 if row.final is None else row.final * 10.0 + (1.0 - (row.confidence or 0.0))
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return self._cell(row, self._columns()[0][column], sorting=role == SORT_ROLE)
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(row.path) if row.ok else f"{row.path}\n{row.error}"
        if role == THUMBNAIL_ROLE:
            return self.thumbnails.pixmap(row.path, row.path)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 1 + 0 and row.predicted is not None:
                return QBrush(class_color(row.predicted).darker(130))
            attention = not row.ok or row.unidentified or self.session.needs_review(row)
            if column == len(self._columns()[0]) - 1 and attention:
                return QBrush(QColor(ERROR_COLOR) if not row.ok else QColor(WARNING_COLOR))
        return None

    def _cell(self, row: ImageRow, key: str, sorting: bool):
        """What a column shows for a row (or sorts by)."""
        if key == "path":
            return row.path.name
        if key == "predicted":
            return self._class_cell(row.predicted, sorting)
        if key == "confidence":
            if row.confidence is None:
                return -1.0 if sorting else ""
            return row.confidence if sorting else f"{row.confidence:.1%}"
        if key.startswith("p_"):
            if not row.ok:
                return -1.0 if sorting else ""
            p = row.probabilities[self.classes.index(key[2:])]
            return p if sorting else f"{p:.1%}"
        if key == "unfamiliarity":
            if row.unfamiliarity is None:
                return -1e9 if sorting else ""
            return row.unfamiliarity if sorting else f"{row.unfamiliarity:.2f}"
        if key == "verified":
            return self._class_cell(row.verified, sorting)
        if key == "true_class":
            return self._class_cell(row.truth, sorting)
        return self.status(row)

    def _class_cell(self, index: int | None, sorting: bool):
        if index is None:
            return "" if not sorting else "~"
        return self.classes[index]

    # -- changes
    def add_results(
        self,
        results: list[Classified],
        model: ModelIdentity | None,
        replace: bool = False,
        unfamiliar_threshold: float | None = None,
    ) -> int:
        """Rows for new images; an image already here (same path or content) is skipped, or with
        `replace` gets the new answer in its row, keeping the technician's class.
        `unfamiliar_threshold`: the model's, at the technician's setting (None: it cannot tell).
        Returns how many rows were added or given a new answer."""
        session = self.session
        new_lab_before = session.another_lab() is not None
        new, taken = [], set()
        replaced = 0
        for item in results:
            existing = session.index_of(item.result.path, item.sha256)
            if existing is None:
                keys = {str(item.result.path), item.sha256} - {""}
                if not keys & taken:
                    taken |= keys
                    new.append(item)
            elif replace:
                session.replace_answer(
                    existing,
                    item.result,
                    truth=item.truth,
                    sha256=item.sha256,
                    model=model,
                    unfamiliar_threshold=unfamiliar_threshold,
                )
                replaced += 1
                self.dataChanged.emit(self.index(existing, 0), self.index(existing, self.columnCount() - 1))
        if new:
            first = len(session.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for item in new:
                session.add(
                    item.result, item.truth, sha256=item.sha256, model=model, unfamiliar_threshold=unfamiliar_threshold
                )
            for row in range(first, len(session.rows)):
                self._path_rows.setdefault(session.rows[row].path, []).append(row)
            self.endInsertRows()
        if (session.another_lab() is not None) != new_lab_before:  # every row's review status moved
            self._rows_changed(list(range(len(session.rows))))
        self.changed.emit()
        return len(new) + replaced

    def load_session(self, session: ReviewSession) -> None:
        """Show another session's rows (opened from a file)."""
        self.beginResetModel()
        self.session = session
        self._path_rows.clear()
        for index, row in enumerate(session.rows):
            self._path_rows.setdefault(row.path, []).append(index)
        self.thumbnails.clear()
        self.endResetModel()
        self.changed.emit()

    def clear(self) -> None:
        self.beginResetModel()
        self.session.clear()
        self._path_rows.clear()
        self.thumbnails.clear()
        self.endResetModel()
        self.changed.emit()

    def close(self) -> None:
        """Stop making thumbnails and wait for those in progress (the window is closing)."""
        self.thumbnails.clear()
        self.thumbnails.wait()

    def set_verified(self, rows: list[int], class_index: int | None) -> None:
        self.session.set_verified(rows, class_index)
        self._rows_changed(rows)
        self.decided.emit(list(rows))

    def set_reviewed(self, rows: list[int], reviewed: bool = True) -> None:
        self.session.set_reviewed(rows, reviewed)
        self._rows_changed(rows)
        self.decided.emit(list(rows))

    def set_threshold(self, threshold: float) -> None:
        if self.session.signed:  # what signing froze stays as it was signed
            return
        self.session.threshold = threshold
        self._rows_changed(list(range(len(self.session.rows))))

    def set_unfamiliar_threshold(self, model: ModelIdentity | None, threshold: float | None) -> None:
        self.session.set_unfamiliar_threshold(model, threshold)
        self._rows_changed(list(range(len(self.session.rows))))

    def set_pass_share(self, share: float) -> None:
        """The familiar share the thresholds pass: what a new lab is judged against."""
        self.session.pass_share = share
        self._rows_changed(list(range(len(self.session.rows))))

    def _thumbnail_ready(self, path: Path) -> None:
        for row in self._path_rows.get(path, []):
            self.dataChanged.emit(self.index(row, 0), self.index(row, 0), [THUMBNAIL_ROLE])

    def _rows_changed(self, rows: list[int]) -> None:
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), self.columnCount() - 1))
        self.changed.emit()

    # -- drag and drop of rows onto a class
    def mimeTypes(self) -> list[str]:
        return [ROWS_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        rows = sorted({index.row() for index in indexes})
        mime = QMimeData()
        mime.setData(ROWS_MIME, ",".join(map(str, rows)).encode())
        return mime


def rows_from_mime(mime: QMimeData) -> list[int]:
    raw = bytes(mime.data(ROWS_MIME)).decode()
    return [int(v) for v in raw.split(",") if v]


@dataclass(frozen=True)
class ViewFilter:
    """Which rows a view shows. Empty fields do not filter."""

    final_class: int | None = None
    cell: tuple[int, int] | None = None  # (true class, predicted class)
    review_only: bool = False
    unidentified_only: bool = False
    failed_only: bool = False
    readable_only: bool = False

    def accepts(self, session: ReviewSession, row: ImageRow) -> bool:
        if self.failed_only:
            return not row.ok
        if self.readable_only and not row.ok:
            return False
        if self.review_only and not session.needs_review(row):
            return False
        if self.unidentified_only and not row.unidentified:
            return False
        if self.final_class is not None and row.final != self.final_class:
            return False
        return not (self.cell is not None and (row.truth, row.predicted) != self.cell)

    def describe(self, classes: list[str]) -> str:
        if self.cell is not None:
            return f"true {classes[self.cell[0]]}, predicted {classes[self.cell[1]]}"
        if self.final_class is not None:
            return classes[self.final_class]
        return ""


class ResultsFilter(QSortFilterProxyModel):
    def __init__(self, source: ResultsModel, view_filter: ViewFilter = ViewFilter(), parent=None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self._filter = view_filter

    @property
    def view_filter(self) -> ViewFilter:
        return self._filter

    def set_filter(self, view_filter: ViewFilter) -> None:
        self.beginFilterChange()
        self._filter = view_filter
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def refilter(self) -> None:
        """Re-apply the filter after the rows' state (not the filter) changed."""
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model: ResultsModel = self.sourceModel()
        return self._filter.accepts(model.session, model.row(source_row))

    def source_rows(self, indexes: list[QModelIndex]) -> list[int]:
        return sorted({self.mapToSource(index).row() for index in indexes})
