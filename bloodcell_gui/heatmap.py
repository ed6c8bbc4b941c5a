"""A confusion-matrix heatmap painted by Qt: rows are true classes, columns predicted ones."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QFontMetricsF, QLinearGradient, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

LOW = QColor("#f7fbff")
HIGH = QColor("#08306b")


def heat_color(fraction: float) -> QColor:
    """White-to-navy ramp for a row share between 0 and 1."""
    f = min(1.0, max(0.0, fraction))
    return QColor.fromRgbF(
        LOW.redF() + (HIGH.redF() - LOW.redF()) * f,
        LOW.greenF() + (HIGH.greenF() - LOW.greenF()) * f,
        LOW.blueF() + (HIGH.blueF() - LOW.blueF()) * f,
    )


class ConfusionHeatmap(QWidget):
    """Each cell shows its count and its share of the row; colour follows the share.

    Emits `cellClicked(true_index, predicted_index)`; hovering shows a sentence.
    """

    cellClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.matrix: list[list[int]] = []
        self.selected: tuple[int, int] | None = None
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("")

    # -- data
    def set_data(self, classes: Sequence[str], matrix: Sequence[Sequence[int]]) -> None:
        if len(matrix) != len(classes) or any(len(row) != len(classes) for row in matrix):
            raise ValueError("the confusion matrix must be square with one row per class")
        self.classes = list(classes)
        self.matrix = [[int(v) for v in row] for row in matrix]
        if self.selected and max(self.selected) >= len(classes):
            self.selected = None
        self.update()

    def clear(self) -> None:
        self.classes, self.matrix, self.selected = [], [], None
        self.update()

    def set_selected(self, cell: tuple[int, int] | None) -> None:
        self.selected = cell
        self.update()

    def row_share(self, true_index: int, predicted_index: int) -> float:
        total = sum(self.matrix[true_index])
        return self.matrix[true_index][predicted_index] / total if total else 0.0

    def cell_color(self, true_index: int, predicted_index: int) -> QColor:
        return heat_color(self.row_share(true_index, predicted_index))

    def cell_text(self, true_index: int, predicted_index: int) -> str:
        count = self.matrix[true_index][predicted_index]
        return f"{count}\n{self.row_share(true_index, predicted_index):.1%}"

    def cell_texts(self, font: QFont) -> list[list[str]]:
        """The fullest form of cell text that fits every cell whole, the same form in all: count
        and share, the share rounded, the count alone, or nothing (the tooltip still tells). A
        clipped number would be read as another ("9.2%" for 69.2%)."""
        n = len(self.classes)
        forms = (
            self.cell_text,
            lambda i, j: f"{self.row_share(i, j):.0%}",
            lambda i, j: str(self.matrix[i][j]),
        )
        bold = QFont(font)
        bold.setBold(True)
        metrics = QFontMetricsF(bold)
        for form in forms:
            texts = [[form(i, j) for j in range(n)] for i in range(n)]
            if all(self._fits(metrics, self.cell_rect(i, j), texts[i][j]) for i in range(n) for j in range(n)):
                return texts
        return [[""] * n for _ in range(n)]

    @staticmethod
    def _fits(metrics: QFontMetricsF, rect, text: str) -> bool:
        needed = metrics.boundingRect(QRectF(rect), Qt.AlignmentFlag.AlignCenter.value, text)
        return needed.width() <= rect.width() - 2 and needed.height() <= rect.height()

    def describe_cell(self, true_index: int, predicted_index: int) -> str:
        true_name, predicted_name = self.classes[true_index], self.classes[predicted_index]
        count = self.matrix[true_index][predicted_index]
        share = self.row_share(true_index, predicted_index)
        verdict = "correct" if true_index == predicted_index else "confused"
        return (
            f"True {true_name}, predicted {predicted_name} ({verdict}): {count} image"
            f"{'s' if count != 1 else ''}, {share:.1%} of all {true_name}. Click to show them."
        )

    # -- geometry
    def _label_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.95))
        return font

    def _layout(self) -> tuple[QRect, float, float, int]:
        """(grid rectangle, cell width, cell height, legend width); see `_rotated_labels`."""
        metrics = QFontMetrics(self._label_font())
        widest = max((metrics.horizontalAdvance(name) for name in self.classes), default=40)
        title = metrics.height() + 6
        legend = 56
        left = title + widest + 10
        n = max(1, len(self.classes))

        def grid_for(top: int) -> QRect:
            grid = self.rect().adjusted(left, top, -legend - 8, -8)
            side = max(1.0, min(grid.width() / n, grid.height() / n))
            grid.setWidth(int(side * n))
            grid.setHeight(int(side * n))
            return grid

        grid = grid_for(title + metrics.height() + 8)
        if self._rotated_labels(grid.width() / n):
            grid = grid_for(title + int(widest * 0.71) + metrics.height() + 8)
        side = grid.width() / n
        return grid, side, side, legend

    def _rotated_labels(self, cell_width: float) -> bool:
        """Column labels are slanted when the widest would not fit across its cell."""
        metrics = QFontMetrics(self._label_font())
        return any(metrics.horizontalAdvance(name) > cell_width - 4 for name in self.classes)

    def cell_rect(self, true_index: int, predicted_index: int) -> QRectF:
        grid, width, height, _ = self._layout()
        return QRectF(grid.left() + predicted_index * width, grid.top() + true_index * height, width, height)

    def cell_at(self, point: QPoint) -> tuple[int, int] | None:
        if not self.classes:
            return None
        grid, width, height, _ = self._layout()
        if not grid.contains(point):
            return None
        column = int((point.x() - grid.left()) // width)
        row = int((point.y() - grid.top()) // height)
        n = len(self.classes)
        return (row, column) if 0 <= row < n and 0 <= column < n else None

    def sizeHint(self) -> QSize:
        return QSize(440, 380)

    def minimumSizeHint(self) -> QSize:
        return QSize(260, 220)

    # -- events
    def mousePressEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = None if self.selected == cell else cell
            self.update()
            self.cellClicked.emit(*cell)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), self.describe_cell(*cell), self)
        self.setCursor(Qt.CursorShape.PointingHandCursor if cell else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self.classes:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No ground truth yet")
            return
        self.paint_into(painter)

    def paint_into(self, painter: QPainter) -> None:
        """Paint the whole heatmap; also used to draw it into a PDF report."""
        font = self._label_font()
        painter.setFont(font)
        metrics = QFontMetrics(font)
        grid, width, height, legend = self._layout()
        text_color = self.palette().windowText().color()
        n = len(self.classes)
        texts = self.cell_texts(font)
        for i in range(n):
            for j in range(n):
                rect = self.cell_rect(i, j)
                share = self.row_share(i, j)
                painter.fillRect(rect, self.cell_color(i, j))
                painter.setPen(QColor("white") if share > 0.5 else QColor("#1a1a1a"))
                bold = QFont(font)
                bold.setBold(i == j)
                painter.setFont(bold)
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, texts[i][j])
        painter.setFont(font)
        painter.setPen(QPen(QColor("#9aa5b1"), 1))
        for k in range(n + 1):
            painter.drawLine(int(grid.left() + k * width), grid.top(), int(grid.left() + k * width), grid.bottom())
            painter.drawLine(grid.left(), int(grid.top() + k * height), grid.right(), int(grid.top() + k * height))
        if self.selected is not None:
            painter.setPen(QPen(QColor("#d55e00"), 3))
            painter.drawRect(self.cell_rect(*self.selected).adjusted(1.5, 1.5, -1.5, -1.5))
        painter.setPen(text_color)
        for k, name in enumerate(self.classes):
            row_rect = QRectF(0, grid.top() + k * height, grid.left() - 6, height)
            painter.drawText(row_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            if self._rotated_labels(width):
                painter.save()
                painter.translate(grid.left() + (k + 0.5) * width, grid.top() - 4)
                painter.rotate(-45)
                painter.drawText(QPointF(0, 0), name)
                painter.restore()
            else:
                top = grid.top() - metrics.height() - 4
                column_rect = QRectF(grid.left() + k * width, top, width, metrics.height())
                painter.drawText(column_rect, Qt.AlignmentFlag.AlignCenter, name)
        title_font = QFont(font)
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.drawText(
            QRectF(grid.left(), 0, grid.width(), metrics.height() + 2),
            Qt.AlignmentFlag.AlignCenter,
            "Predicted class",
        )
        painter.save()
        painter.translate(0, grid.center().y())
        painter.rotate(-90)
        painter.drawText(
            QRectF(-grid.height() / 2, 0, grid.height(), metrics.height() + 2),
            Qt.AlignmentFlag.AlignCenter,
            "True class",
        )
        painter.restore()
        painter.setFont(font)
        bar = QRectF(grid.right() + 16, grid.top(), 14, grid.height())
        gradient = QLinearGradient(bar.topLeft(), bar.bottomLeft())
        gradient.setColorAt(0.0, HIGH)
        gradient.setColorAt(1.0, LOW)
        painter.fillRect(bar, gradient)
        painter.setPen(QPen(QColor("#9aa5b1"), 1))
        painter.drawRect(bar)
        painter.setPen(text_color)
        for fraction in (0.0, 0.5, 1.0):
            y = bar.bottom() - fraction * bar.height()
            painter.drawText(
                QRectF(bar.right() + 3, y - metrics.height() / 2, legend - 20, metrics.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"{fraction:.0%}",
            )
