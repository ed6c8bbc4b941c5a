"""The thumbnail grid: a QListView in icon mode with a delegate that paints each cell."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from bloodcell_gui.results_model import ROW_ROLE, THUMBNAIL_ROLE, ResultsModel
from bloodcell_gui.style import THUMBNAIL_SIZE, class_color

CELL = QSize(132, 128)
IMAGE = THUMBNAIL_SIZE


def configure_thumbnail_view(view: QListView) -> None:
    """Uniform cells let Qt lay out 10,000 items without asking each one for its size."""
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setMovement(QListView.Movement.Static)
    view.setUniformItemSizes(True)
    view.setGridSize(CELL)
    view.setSpacing(2)
    view.setLayoutMode(QListView.LayoutMode.Batched)
    view.setBatchSize(200)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setDragEnabled(True)
    view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)


class ThumbnailDelegate(QStyledItemDelegate):
    """Image, then a band in the class colour: the class (technician's if set), confidence,
    and a mark: ✓ reviewed, ! needs review."""

    def __init__(self, results: ResultsModel, parent=None) -> None:
        super().__init__(parent)
        self.results = results

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        row_index = index.data(ROW_ROLE)
        if row_index is None:
            return
        row = self.results.row(row_index)
        rect: QRect = option.rect.adjusted(3, 3, -3, -3)
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        image_rect = QRect(rect.left() + (rect.width() - IMAGE.width()) // 2, rect.top(), IMAGE.width(), IMAGE.height())
        pixmap = index.data(THUMBNAIL_ROLE)
        if pixmap is not None:
            scaled = pixmap.size().scaled(IMAGE, Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(image_rect.center())
            painter.drawPixmap(target, pixmap)
        else:
            painter.fillRect(image_rect, QColor("#eeeeee"))
        band = QRect(rect.left(), image_rect.bottom() + 3, rect.width(), rect.bottom() - image_rect.bottom() - 3)
        final = row.final
        if final is not None:
            color = class_color(final)
            painter.fillRect(band, color)
            painter.setPen(QColor("white") if color.lightnessF() < 0.6 else QColor("black"))
            font = QFont(option.font)
            font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
            painter.setFont(font)
            name = self.results.classes[final][:10]
            mark = "✓" if row.reviewed else ("!" if self.results.session.needs_review(row) else "")
            confidence = f"{row.confidence:.0%}" if row.verified is None else "by hand"
            painter.drawText(band.adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter, f"{name} {confidence}")
            painter.drawText(
                band.adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, mark
            )
        if self.results.session.needs_review(row):
            painter.setPen(QPen(QColor("#d55e00"), 2, Qt.PenStyle.DashLine))
            painter.drawRect(image_rect.adjusted(1, 1, -1, -1))
        painter.restore()
