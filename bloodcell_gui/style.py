"""Colours and the application style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor

from model.resources import resources_dir

# Distinguishable for the common colour-vision deficiencies (Okabe-Ito).
CLASS_COLORS = ["#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def class_color(index: int) -> QColor:
    return QColor(CLASS_COLORS[index % len(CLASS_COLORS)])


def style_sheet() -> str:
    path = resources_dir() / "style.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""
