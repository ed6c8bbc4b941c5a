"""Thumbnails made lazily on a thread pool: only the rows a view paints are ever decoded."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from bloodcell_gui.style import THUMBNAIL_SIZE
from model.images.reading import ImageError, load_rgb


def pil_to_qimage(image) -> QImage:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def load_qimage(path: Path, size: QSize) -> QImage | None:
    """Decode (with the engine's loader, so odd modes and EXIF work) and shrink to fit `size`."""
    try:
        image = load_rgb(path)
    except ImageError:
        return None
    image.thumbnail((size.width(), size.height()))
    return pil_to_qimage(image)


class _Signals(QObject):
    loaded = Signal(object, object, object)  # key, path, QImage | None


class _LoadJob(QRunnable):
    def __init__(self, key: object, path: Path, size: QSize, signals: _Signals) -> None:
        super().__init__()
        self.key, self.path, self.size, self.signals = key, path, size, signals

    def run(self) -> None:
        self.signals.loaded.emit(self.key, self.path, load_qimage(self.path, self.size))


class ThumbnailCache(QObject):
    """`pixmap(key, path)` answers from the cache at once, or schedules a load and answers
    None; `ready(key)` is emitted when it lands. Least recently used pixmaps are dropped."""

    ready = Signal(object)

    def __init__(self, size: QSize = THUMBNAIL_SIZE, capacity: int = 3000, parent=None) -> None:
        super().__init__(parent)
        self.size = size
        self.capacity = capacity
        self._pixmaps: OrderedDict[object, QPixmap] = OrderedDict()
        self._pending: set[object] = set()
        self._signals = _Signals()
        self._signals.loaded.connect(self._store)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.placeholder = self._make_placeholder()

    def pixmap(self, key: object, path: Path) -> QPixmap | None:
        if key in self._pixmaps:
            self._pixmaps.move_to_end(key)
            return self._pixmaps[key]
        if key not in self._pending:
            self._pending.add(key)
            self.pool.start(_LoadJob(key, path, self.size, self._signals))
        return None

    def clear(self) -> None:
        self.pool.clear()
        self._pixmaps.clear()
        self._pending.clear()

    def wait(self) -> None:
        self.pool.waitForDone()

    def _store(self, key: object, path: Path, image: QImage | None) -> None:
        if key not in self._pending:
            return  # cleared meanwhile
        self._pending.discard(key)
        self._pixmaps[key] = QPixmap.fromImage(image) if image is not None else self.placeholder
        while len(self._pixmaps) > self.capacity:
            self._pixmaps.popitem(last=False)
        self.ready.emit(key)

    def _make_placeholder(self) -> QPixmap:
        pixmap = QPixmap(self.size)
        pixmap.fill(QColor("#e8e8e8"))
        painter = QPainter(pixmap)
        painter.setPen(QColor("#888888"))
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "no preview")
        painter.end()
        return pixmap
