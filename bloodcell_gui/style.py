"""Colours, sizes and the application style sheet: defined here once, used everywhere."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from model.common.resources import resources_dir

# Distinguishable for the common colour-vision deficiencies (Okabe-Ito).
CLASS_COLORS = ["#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
ERROR_COLOR = "#b3261e"
WARNING_COLOR = "#9a6700"
THUMBNAIL_SIZE = QSize(120, 90)
LARGE_IMAGE_SIZE = QSize(640, 480)


def class_color(index: int) -> QColor:
    return QColor(CLASS_COLORS[index % len(CLASS_COLORS)])


def plain_label(text: str = "") -> QLabel:
    """A word-wrapped label that shows its text as it is: it may quote file, class or model
    names, which must never be read as markup."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def message_label(color: str) -> QLabel:
    """A word-wrapped label for problems (ERROR_COLOR) or warnings (WARNING_COLOR)."""
    label = plain_label()
    label.setStyleSheet(f"color: {color}")
    return label


def style_sheet() -> str:
    path = resources_dir() / "style.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""
