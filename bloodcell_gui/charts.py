"""Small charts painted by Qt: class balance bars, line charts for training curves, and the
histogram of unfamiliarity scores with the threshold the calibration chose."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from bloodcell_gui.style import class_color


class BarChart(QWidget):
    """One labelled bar per class, with its count on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.values: list[int] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_values(self, labels: Sequence[str], values: Sequence[int]) -> None:
        self.labels, self.values = list(labels), list(values)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 200)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        if not self.values:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Choose a folder to see its classes")
            return
        metrics = painter.fontMetrics()
        area = QRectF(self.rect()).adjusted(8, metrics.height() + 6, -8, -(metrics.height() + 8))
        top = max(self.values) or 1
        slot = area.width() / len(self.values)
        for i, (label, value) in enumerate(zip(self.labels, self.values, strict=True)):
            height = area.height() * value / top
            bar = QRectF(area.left() + i * slot + slot * 0.15, area.bottom() - height, slot * 0.7, height)
            painter.fillRect(bar, class_color(i))
            painter.setPen(self.palette().windowText().color())
            painter.drawText(
                QRectF(bar.left() - 20, bar.top() - metrics.height() - 2, bar.width() + 40, metrics.height()),
                Qt.AlignmentFlag.AlignCenter,
                str(value),
            )
            painter.drawText(
                QRectF(area.left() + i * slot, area.bottom() + 4, slot, metrics.height()),
                Qt.AlignmentFlag.AlignCenter,
                metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(slot) - 4),
            )


@dataclass
class Series:
    name: str
    color: str
    points: list[tuple[float, float]] = field(default_factory=list)
    dashed: bool = False


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round values (steps of 1, 2 or 5 times a power of ten) from `low` to `high`, at most `most`."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    value = first * step
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value = (first + len(ticks)) * step
    return ticks


class LineChart(QWidget):
    """Series of (x, y) points on shared axes, with a legend; `log_x` for learning rates."""

    def __init__(self, title: str, x_label: str, log_x: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title, self.x_label, self.log_x = title, x_label, log_x
        self.series: dict[str, Series] = {}
        self.marker_x: float | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def add_series(self, name: str, color: str, dashed: bool = False) -> None:
        self.series[name] = Series(name, color, dashed=dashed)

    def add_point(self, name: str, x: float, y: float) -> None:
        if math.isfinite(x) and math.isfinite(y):
            self.series[name].points.append((x, y))
            self.update()

    def set_points(self, name: str, points: Sequence[tuple[float, float]]) -> None:
        self.series[name].points = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
        self.update()

    def clear(self) -> None:
        for series in self.series.values():
            series.points.clear()
        self.marker_x = None
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 240)

    def _x(self, value: float) -> float:
        return math.log10(value) if self.log_x else value

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        text = self.palette().windowText().color()
        plot = QRectF(self.rect()).adjusted(48, metrics.height() + 10, -10, -(metrics.height() * 2 + 10))
        painter.setPen(text)
        painter.drawText(QRectF(0, 2, self.width(), metrics.height()), Qt.AlignmentFlag.AlignCenter, self.title)
        # A diverging loss (inf, NaN) must not stretch the axes to nothing or off the chart.
        points = [p for s in self.series.values() for p in s.points if math.isfinite(p[0]) and math.isfinite(p[1])]
        painter.setPen(QPen(QColor("#9aa5b1"), 1))
        painter.drawRect(plot)
        if not points:
            return
        xs = [self._x(x) for x, _ in points]
        ys = [y for _, y in points]
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(0.0, min(ys)), max(ys)
        x1 = x1 if x1 > x0 else x0 + 1
        y1 = y1 if y1 > y0 else y0 + 1

        def to_screen(x: float, y: float) -> QPointF:
            return QPointF(
                plot.left() + (self._x(x) - x0) / (x1 - x0) * plot.width(),
                plot.bottom() - (y - y0) / (y1 - y0) * plot.height(),
            )

        grid = QPen(QColor("#e3e7eb"), 1)
        for y in nice_ticks(y0, y1):
            at = plot.bottom() - (y - y0) / (y1 - y0) * plot.height()
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left() + 1, at), QPointF(plot.right() - 1, at))
            painter.setPen(text)
            painter.drawText(QRectF(0, at - 8, 44, 16), Qt.AlignmentFlag.AlignRight, f"{y:g}")
        x_ticks = [float(e) for e in range(math.ceil(x0), math.floor(x1) + 1)] if self.log_x else nice_ticks(x0, x1)
        for x in x_ticks:
            label = f"1e{x:.0f}" if self.log_x else f"{x:g}"
            at = plot.left() + (x - x0) / (x1 - x0) * plot.width()
            painter.setPen(grid)
            painter.drawLine(QPointF(at, plot.top() + 1), QPointF(at, plot.bottom() - 1))
            painter.setPen(text)
            painter.drawText(
                QRectF(at - 30, plot.bottom() + 2, 60, metrics.height()), Qt.AlignmentFlag.AlignCenter, label
            )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + metrics.height() + 2, plot.width(), metrics.height()),
            Qt.AlignmentFlag.AlignCenter,
            self.x_label,
        )
        legend_x = plot.left() + 6
        for series in self.series.values():
            drawn = [p for p in series.points if math.isfinite(p[0]) and math.isfinite(p[1])]
            if not drawn:
                continue
            painter.setClipRect(plot)
            pen = QPen(QColor(series.color), 2, Qt.PenStyle.DashLine if series.dashed else Qt.PenStyle.SolidLine)
            painter.setPen(pen)
            path = QPainterPath(to_screen(*drawn[0]))
            for point in drawn[1:]:
                path.lineTo(to_screen(*point))
            painter.drawPath(path)
            if len(drawn) == 1:
                painter.drawEllipse(to_screen(*drawn[0]), 3, 3)
            painter.setClipping(False)
            painter.drawLine(QPointF(legend_x, plot.top() + 10), QPointF(legend_x + 16, plot.top() + 10))
            painter.setPen(text)
            painter.drawText(QPointF(legend_x + 20, plot.top() + 14), series.name)
            legend_x += 28 + metrics.horizontalAdvance(series.name)
        if self.marker_x is not None:
            painter.setPen(QPen(QColor("#d55e00"), 1, Qt.PenStyle.DashLine))
            x = to_screen(self.marker_x, y0).x()
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))


class ScoreHistogram(QWidget):
    """How the held-out images' unfamiliarity scores spread, and where the threshold cuts: the
    images right of the dashed line go to the Unidentified bin."""

    BINS = 30

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts: list[int] = []
        self.edges: list[float] = []
        self.threshold: float | None = None
        self.caption = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_scores(self, scores: Sequence[float], threshold: float, caption: str) -> None:
        values = np.asarray(scores, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0 or not math.isfinite(threshold):
            self.clear()
            return
        # The last bin gathers the far tail, so a few extreme scores do not squash the rest.
        high = max(float(np.quantile(values, 0.995)), threshold) * 1.05 + 1e-9
        low = min(float(values.min()), threshold)
        counts, edges = np.histogram(np.clip(values, low, high), bins=self.BINS, range=(low, high))
        self.counts, self.edges = counts.tolist(), edges.tolist()
        self.threshold, self.caption = threshold, caption
        self.update()

    def clear(self) -> None:
        self.counts, self.edges, self.threshold, self.caption = [], [], None, ""
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 220)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        text_color = self.palette().windowText().color()
        if not self.counts or self.threshold is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No unfamiliar-image statistics")
            return
        metrics = painter.fontMetrics()
        line = metrics.height()
        area = QRectF(self.rect()).adjusted(10, line + 8, -10, -(2 * line + 10))
        low, high = self.edges[0], self.edges[-1]
        top = max(self.counts) or 1

        def x_of(value: float) -> float:
            return area.left() + (value - low) / (high - low) * area.width()

        for count, left, right in zip(self.counts, self.edges[:-1], self.edges[1:], strict=True):
            height = area.height() * count / top
            flagged = left >= self.threshold
            bar = QRectF(x_of(left) + 0.5, area.bottom() - height, max(1.0, x_of(right) - x_of(left) - 1), height)
            painter.fillRect(bar, QColor("#D55E00" if flagged else "#0072B2"))
        painter.setPen(QPen(text_color, 1))
        painter.drawLine(QPointF(area.left(), area.bottom()), QPointF(area.right(), area.bottom()))
        for tick in nice_ticks(low, high, 6):
            painter.drawText(
                QRectF(x_of(tick) - 30, area.bottom() + 3, 60, line), Qt.AlignmentFlag.AlignCenter, f"{tick:g}"
            )
        cut = x_of(self.threshold)
        painter.setPen(QPen(text_color, 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(cut, area.top() - 4), QPointF(cut, area.bottom()))
        painter.drawText(
            QRectF(area.left(), 2, area.width(), line),
            Qt.AlignmentFlag.AlignLeft,
            metrics.elidedText(self.caption, Qt.TextElideMode.ElideRight, int(area.width())),
        )
        painter.drawText(
            QRectF(area.left(), area.bottom() + line + 6, area.width(), line),
            Qt.AlignmentFlag.AlignCenter,
            f"unfamiliarity score (threshold {self.threshold:.2f}: to its right, Unidentified)",
        )
