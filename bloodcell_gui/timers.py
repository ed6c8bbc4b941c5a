"""Timers made with setters, never with Qt property keywords.

PySide6 6.11 looks constructor keywords up as Qt properties with the process's C locale: under a
Turkish locale `interval` is not found (the dotless ı), and the window does not start. Setters
take no such detour."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer


def make_timer(parent: QObject | None, interval_ms: int, *, single_shot: bool) -> QTimer:
    timer = QTimer(parent)
    timer.setInterval(interval_ms)
    timer.setSingleShot(single_shot)
    return timer
