"""Run in a process of its own on a virtual screen of a given size (Qt's offscreen platform with a
screen configuration): opens the window and the wizard as a technician would, clicks a heatmap
cell, a class and Show all, and prints one JSON line per state with what fits on the screen.

Usage: python small_screen_probe.py IMAGE_FOLDER   (BLOODCELL_DEFAULT_MODEL names the model)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QPoint, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QWizard

from bloodcell_gui.app import make_application
from bloodcell_gui.main_window import MainWindow


def settle(ms: int = 200) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(condition, seconds: float = 120) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        settle(100)
    raise TimeoutError("the window did not get there")


def outside(widget, window) -> list[str]:
    """Visible buttons and the status bar that lie beyond `window`'s own rectangle or the screen."""
    room = window.screen().availableGeometry()
    problems = []
    if window.frameGeometry().right() > room.right() or window.frameGeometry().bottom() > room.bottom():
        problems.append(f"window {window.frameGeometry().getRect()} beyond the screen {room.getRect()}")
    for child in [*widget.findChildren(QPushButton), *([window.statusBar()] if hasattr(window, "statusBar") else [])]:
        if not child.isVisible():
            continue
        corner = child.mapTo(window, QPoint(child.width() - 1, child.height() - 1))
        if corner.x() >= window.width() or corner.y() >= window.height():
            name = child.text() if isinstance(child, QPushButton) else "status bar"
            problems.append(f"{name!r} cut off")
    return problems


def report(state: str, window) -> None:
    settle()
    hint = window.minimumSizeHint()
    print(json.dumps({"state": state, "size": [window.width(), window.height()], "minimum": [hint.width(),
          hint.height()], "problems": outside(window, window)}), flush=True)  # fmt: skip


def main() -> int:
    images = Path(sys.argv[1])
    make_application()
    settings = QSettings(str(Path(sys.argv[2]) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.show()
    window.start()
    wait_until(lambda: window.loaded is not None)
    report("first window", window)
    window.classify([images])
    wait_until(lambda: not window.is_busy() and window.results is not None and window.results.rowCount() > 0)
    settle(500)
    report("classified", window)
    heatmap = window.heatmap
    QTest.mouseClick(heatmap, Qt.MouseButton.LeftButton, pos=heatmap.cell_rect(0, 1).center().toPoint())
    report("heatmap cell clicked", window)
    differential = window.differential
    for y in range(0, differential.height(), 4):
        if differential.class_at(y) == 3:
            QTest.mouseClick(differential, Qt.MouseButton.LeftButton, pos=QPoint(differential.width() // 2, y))
            break
    report("class clicked", window)
    QTest.mouseClick(window.show_all, Qt.MouseButton.LeftButton)
    report("show all", window)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        report(f"tab {window.tabs.tabText(index)}", window)
    wizard = window.models.open_training_wizard()
    settle(300)
    room = wizard.screen().availableGeometry()
    buttons = [wizard.button(which) for which in (QWizard.WizardButton.NextButton, QWizard.WizardButton.CancelButton)]
    cut = [b.text() for b in buttons if b.mapTo(wizard, QPoint(b.width(), b.height())).y() > wizard.height()]
    print(json.dumps({"state": "wizard", "size": [wizard.width(), wizard.height()], "minimum": [
        wizard.minimumSizeHint().width(), wizard.minimumSizeHint().height()], "problems": cut + (
        [f"wizard {wizard.frameGeometry().getRect()} beyond {room.getRect()}"]
        if not room.contains(wizard.frameGeometry()) else [])}), flush=True)  # fmt: skip
    wizard.reject()
    window.sessions.unsaved_decisions = False
    window.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
