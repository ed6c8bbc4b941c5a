"""The differential: images per class with a bar each. Click a class to filter the views;
drop images on a class to reclassify them."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QFont, QMouseEvent, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from bloodcell_gui.results_model import ROWS_MIME, rows_from_mime
from bloodcell_gui.style import class_color

ROW_HEIGHT = 30


class DifferentialView(QWidget):
    classClicked = Signal(int)  # -1: show all
    reclassifyRequested = Signal(list, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.counts: list[int] = []
        self.selected: int | None = None
        self._drop_target: int | None = None
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_counts(self, classes: Sequence[str], counts: Sequence[int]) -> None:
        self.classes, self.counts = list(classes), list(counts)
        self.updateGeometry()
        self.update()

    def set_selected(self, index: int | None) -> None:
        self.selected = index
        self.update()

    def shares(self) -> list[float]:
        total = sum(self.counts)
        return [c / total if total else 0.0 for c in self.counts]

    def sizeHint(self) -> QSize:
        return QSize(300, ROW_HEIGHT * max(1, len(self.classes)) + 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.sizeHint().height())

    def class_at(self, y: float) -> int | None:
        index = int((y - 4) // ROW_HEIGHT)
        return index if 0 <= index < len(self.classes) else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.class_at(event.position().y())
        if index is not None:
            self.selected = None if self.selected == index else index
            self.update()
            self.classClicked.emit(-1 if self.selected is None else index)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(ROWS_MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        self._drop_target = self.class_at(event.position().y())
        self.update()
        if self._drop_target is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self._drop_target = None
        self.update()

    def dropEvent(self, event: QDropEvent) -> None:
        target = self.class_at(event.position().y())
        self._drop_target = None
        self.update()
        if target is not None and event.mimeData().hasFormat(ROWS_MIME):
            self.reclassifyRequested.emit(rows_from_mime(event.mimeData()), target)
            event.acceptProposedAction()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = self.width()
        name_width = 110
        number_width = 100
        bold = QFont(self.font())
        bold.setBold(True)
        text = self.palette().windowText().color()
        for i, (name, count, share) in enumerate(zip(self.classes, self.counts, self.shares(), strict=True)):
            row = QRectF(0, 4 + i * ROW_HEIGHT, width, ROW_HEIGHT)
            if i in (self.selected, self._drop_target):
                painter.fillRect(row, self.palette().highlight().color().lighter(170))
            color = class_color(i)
            painter.fillRect(QRectF(6, row.top() + 8, 12, 12), color)
            painter.setPen(text)
            painter.setFont(bold if i == self.selected else self.font())
            painter.drawText(
                QRectF(24, row.top(), name_width, ROW_HEIGHT),
                Qt.AlignmentFlag.AlignVCenter,
                f"{i + 1}  {name}",
            )
            bar_left = 24 + name_width
            bar_width = max(10.0, width - bar_left - number_width - 8)
            track = QRectF(bar_left, row.top() + 8, bar_width, ROW_HEIGHT - 16)
            painter.fillRect(track, QColor("#eceff1"))
            painter.fillRect(QRectF(track.left(), track.top(), track.width() * share, track.height()), color)
            painter.drawText(
                QRectF(width - number_width - 4, row.top(), number_width, ROW_HEIGHT),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{count}   {share:5.1%}",
            )
