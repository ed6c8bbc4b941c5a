"""The selected image, large, with a probability bar per class."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from bloodcell_gui.style import class_color
from model.review import ImageRow


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


class DetailPanel(QWidget):
    """Shows one row: the image (loaded off the GUI thread by the caller), its file, verdict."""

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

    def show_row(self, classes: list[str], row: ImageRow | None, verdict: str = "") -> None:
        if row is None:
            self.title.clear()
            self.verdict.clear()
            self.bars.set_values([], (), None)
            self.set_pixmap(None)
            return
        self.title.setText(f"<b>{row.path.name}</b><br><span style='color:#666'>{row.path.parent}</span>")
        self.verdict.setText(verdict)
        self.bars.set_values(classes, row.probabilities or (), row.verified)

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
