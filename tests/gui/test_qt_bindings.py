"""Guards against Qt-binding releases that break a long-running GUI."""

import sys

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen


def test_painting_does_not_leak_references_to_none(qapp):
    # PySide6 6.12.0 drops a reference to None on every call of a void method; after some
    # tens of thousands of calls (minutes of live training curves) Python aborts.
    if sys.version_info >= (3, 12):
        pytest.skip("None is immortal from Python 3.12: its count says nothing and the leak cannot abort")
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    path = QPainterPath(QPointF(0, 0))
    before = sys.getrefcount(None)
    for _ in range(500):
        path.lineTo(QPointF(1, 1))
        painter.setPen(QPen(QColor("red")))
        painter.drawLine(QPointF(0, 0), QPointF(5, 5))
        painter.fillRect(QRectF(0, 0, 2, 2), QColor("blue"))
        painter.save()
        painter.restore()
    painter.end()
    assert sys.getrefcount(None) - before > -100
