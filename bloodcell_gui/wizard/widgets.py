"""Small input widgets the wizard's pages share."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QWidget

from model.training.limits import Limit


def folder_row(edit: QLineEdit, on_browse) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    browse = QPushButton("Browse…")
    browse.clicked.connect(on_browse)
    layout.addWidget(browse)
    return row


def int_spin(minimum: int, maximum: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def limited_spin(limit: Limit, value: int, step: int = 1) -> QSpinBox:
    """A spin box for a whole-number training setting, over its declared range (model.training.limits)."""
    return int_spin(int(limit.low), int(limit.high), value, step)


def spin(minimum: float, maximum: float, step: float, value: float, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setValue(value)
    return box


def check_box(text: str, checked: bool, tooltip: str = "") -> QCheckBox:
    box = QCheckBox(text)
    box.setChecked(checked)
    box.setToolTip(tooltip)
    return box
