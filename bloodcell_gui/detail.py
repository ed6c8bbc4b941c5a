"""The selected image, large, with a probability bar per class."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from bloodcell_gui.style import ERROR_COLOR, LARGE_IMAGE_SIZE, WARNING_COLOR, class_color
from bloodcell_gui.thumbnails import ThumbnailCache
from model.review.session import ImageRow
from model.unfamiliar.statistics import NETWORKS_DISAGREE


class ProbabilityBars(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.probabilities: tuple[float, ...] = ()
        self.verified: int | None = None
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_values(self, classes: list[str], probabilities: tuple[float, ...], verified: int | None) -> None:
        self.classes, self.probabilities, self.verified = classes, probabilities, verified
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, 24 * max(1, len(self.classes)) + 4)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        text = self.palette().windowText().color()
        label_width, value_width = 110, 52
        for i, (name, p) in enumerate(zip(self.classes, self.probabilities, strict=False)):
            top = 2 + i * 24
            painter.setPen(text)
            mark = " ✓" if i == self.verified else ""
            painter.drawText(QRectF(0, top, label_width, 22), Qt.AlignmentFlag.AlignVCenter, f"{name}{mark}")
            track = QRectF(label_width, top + 5, max(10, self.width() - label_width - value_width), 12)
            painter.fillRect(track, QColor("#eceff1"))
            filled = QRectF(track.left(), track.top(), track.width() * p, track.height())
            painter.fillRect(filled, class_color(i))
            painter.drawText(
                QRectF(self.width() - value_width, top, value_width, 22),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{p:.1%}",
            )


def verdict_html(classes: list[str], row: ImageRow) -> str:
    """The model's answer, the technician's and the folder's, as rich text (names escaped)."""
    if not row.ok:
        return f"<span style='color:{ERROR_COLOR}'>Unreadable: {html.escape(row.error or '')}</span>"
    parts = [f"Predicted <b>{html.escape(classes[row.predicted])}</b> ({row.confidence:.1%})"]
    if row.verified is not None:
        parts.append(f"technician: <b>{html.escape(classes[row.verified])}</b>")
    if row.truth is not None:
        parts.append(f"folder: {html.escape(classes[row.truth])}")
    text = " · ".join(parts) + (" · reviewed" if row.reviewed else "")
    why = row.unfamiliar_reason
    if why is not None:
        state = "Unidentified" if row.unidentified else "Was unidentified"
        text += f"<br><span style='color:{WARNING_COLOR}'>{state}: {html.escape(why)}</span>"
    elif row.unfamiliarity is None:
        text += "<br><span style='color:gray'>Unfamiliar-image check: not available for this model</span>"
    if not row.networks_agree:  # said as the Unidentified line is: "Reviewed" once a technician decided
        state = "Reviewed" if row.reviewed else "Review"
        text += f"<br><span style='color:{WARNING_COLOR}'>{state}: {html.escape(NETWORKS_DISAGREE)}</span>"
    return text


class DetailPanel(QWidget):
    """Shows one row: the image, large (decoded off the GUI thread), its file and verdict."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QLabel("Select an image to see it here")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(240, 180)
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.bars = ProbabilityBars()
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.title)
        layout.addWidget(self.verdict)
        layout.addWidget(self.bars)
        self._pixmap: QPixmap | None = None
        self._path: Path | None = None
        self.large_images = ThumbnailCache(LARGE_IMAGE_SIZE, capacity=40, parent=self)
        self.large_images.ready.connect(self._image_ready)

    def show_row(self, classes: list[str], row: ImageRow | None) -> None:
        if row is None:
            self._path = None
            self.title.clear()
            self.verdict.clear()
            self.bars.set_values([], (), None)
            self.set_pixmap(None)
            return
        self._path = row.path
        name, folder = html.escape(row.path.name), html.escape(str(row.path.parent))
        self.title.setText(f"<b>{name}</b><br><span style='color:#666'>{folder}</span>")
        self.verdict.setText(verdict_html(classes, row))
        self.bars.set_values(classes, row.probabilities or (), row.verified)
        self.set_pixmap(self.large_images.pixmap(row.path, row.path) if row.ok else None)

    def _image_ready(self, path: Path) -> None:
        if path == self._path:
            self.set_pixmap(self.large_images.pixmap(path, path))

    def close_images(self) -> None:
        self.large_images.clear()
        self.large_images.wait()

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        self._pixmap = pixmap
        if pixmap is None:
            self.image.setPixmap(QPixmap())
            return
        self._rescale()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is not None and not self._pixmap.isNull():
            self.image.setPixmap(
                self._pixmap.scaled(
                    self.image.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
