"""What the GUI tests do as a technician would: drop files, wait for the classification, answer a question."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from bloodcell_gui.main_window import MainWindow


def drop(widget, paths: list[Path]) -> QDropEvent:
    """What the window receives when files are dragged from a file manager and dropped."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    where = QPointF(widget.width() / 2, widget.height() / 2)
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(where.toPoint(), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the window refused the drag"
    event = QDropEvent(where, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, event)
    return event


def classify_and_wait(qtbot, main: MainWindow, paths: list[Path], timeout: int = 300_000) -> None:
    with qtbot.waitSignal(main.classificationFinished, timeout=timeout):
        event = drop(main, paths)
        assert event.isAccepted()


def answer_next_question(button_text: str) -> None:
    """Click `button_text` in the next modal question, as a technician would."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(20, click)
