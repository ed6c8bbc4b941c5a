"""Start the GUI: paint the window first, then load torch, fastai and the model in a worker."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from bloodcell_gui.streams import ensure_standard_streams

if sys.platform == "win32":
    from model.common.editions import torch_installed

    if torch_installed():  # BloodCell Review has no torch
        # On Windows torch's DLLs must load before Qt's, or torch fails to initialise.
        import torch  # noqa: F401

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from bloodcell_gui.main_window import MainWindow
from bloodcell_gui.style import style_sheet
from bloodcell_gui.timers import make_timer
from bloodcell_gui.workers import Worker
from model.common.resources import resources_dir


class FirstPaint(QObject):
    """Reports when the window is first painted (BLOODCELL_REPORT_FIRST_WINDOW=1, for benchmarks)."""

    def __init__(self, started: float, quit_after: bool) -> None:
        super().__init__()
        self.started = started
        self.quit_after = quit_after
        self.seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            print(f"first-window {time.perf_counter() - self.started:.3f}", flush=True)
            if self.quit_after:
                QTimer.singleShot(0, QCoreApplication.quit)
        return False


GUI_SWITCH_INTERVAL = 0.001


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setOrganizationName("BloodCell")
    app.setApplicationName("BloodCell")
    app.setWindowIcon(QIcon(str(resources_dir() / "icon.png")))
    app.setStyleSheet(style_sheet())
    # Workers (the background writer, thumbnails, decoding) hand Python's lock back after at most
    # this long, instead of 5 ms: the GUI thread takes it back many times an event.
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
    return app


def close_on_sigterm(window: MainWindow) -> None:
    """A SIGTERM (logout, a service manager) closes the window the normal way: settings saved,
    work stopped, no half-written export left. Python runs signal handlers only between its own
    instructions, so a timer gives it a moment several times a second while Qt waits."""

    def close(signum, frame) -> None:
        QTimer.singleShot(0, window.close)

    with contextlib.suppress(ValueError, OSError, AttributeError):
        signal.signal(signal.SIGTERM, close)
        ticker = make_timer(window, 250, single_shot=False)
        ticker.timeout.connect(lambda: None)
        ticker.start()


def export_and_quit(window: MainWindow, folder: Path) -> None:
    """Export the results as the File menu does (results.csv, report.pdf in `folder`), say how
    it went on standard output, and close the window."""
    exports = (("results.csv", window.exports.export_csv), ("report.pdf", window.exports.export_pdf))
    written = [name for name, export in exports if export(folder / name)]
    rows = window.results.rowCount() if window.results is not None else 0
    print(f"exported {' '.join(written) or 'nothing'} ({rows} images) {window.last_error or ''}".strip(), flush=True)
    window.close()


def run_gui(paths: list[str] | None = None) -> int:
    """The window; `paths` (files and folders, as a file manager passes them) are classified
    as soon as the model is loaded."""
    started = time.perf_counter()
    ensure_standard_streams()
    app = make_application()
    window = MainWindow()
    report = os.environ.get("BLOODCELL_REPORT_FIRST_WINDOW")
    if report:
        first_paint = FirstPaint(started, quit_after=report == "quit")
        window.installEventFilter(first_paint)
    # Quitting while the engine still loads must wait for that thread, not destroy it.
    app.aboutToQuit.connect(Worker.stop_all)
    close_on_sigterm(window)
    window.show()
    QTimer.singleShot(0, window.start)
    if paths:
        QTimer.singleShot(0, lambda: window.classify([Path(p) for p in paths]))
        export_to = os.environ.get("BLOODCELL_EXPORT_AND_QUIT")
        if export_to:  # the frozen smoke tests: the window's own CSV and PDF exports, then quit
            window.classificationFinished.connect(lambda: export_and_quit(window, Path(export_to)))
    seconds = os.environ.get("BLOODCELL_QUIT_AFTER")
    if seconds:
        QTimer.singleShot(int(float(seconds) * 1000), window.close)
    code = app.exec()
    if Worker.abandoned_still_running():
        # Closed while the model was still loading: end now rather than wait seconds for an
        # import to finish. Settings are saved and every write is atomic, so nothing is lost.
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        os._exit(code)
    return code
