"""Render the screens shown in the README (offscreen): `python scripts/screenshots.py OUTDIR`.

Classifies the TEST_SIMPLE and part of the TEST folders of the development data with the
shipped default model, selects an image, and saves the main window as PNG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402

from bloodcell_gui.app import make_application  # noqa: E402
from bloodcell_gui.main_window import MainWindow  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BLOODCELL_DATA", REPO.parent / "shared" / "data" / "blood-cells"))


def wait_until(condition, timeout_s: float = 600) -> None:
    loop = QEventLoop()
    timer = QTimer(interval=50)
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    timer.start()
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    timer.stop()


def settle(ms: int = 600) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main_window_screenshot(out: Path, inputs: list[Path]) -> None:
    settings = QSettings(str(out / "screenshot-settings.ini"), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow(settings)
    window.resize(1500, 900)
    window.show()
    window.start()
    wait_until(lambda: window.loaded is not None)
    window.classify(inputs)
    wait_until(lambda: not window.is_busy())
    window.grid.setCurrentIndex(window.grid.model().index(3, 0))
    window.tabs.setCurrentWidget(window.grid)
    settle(1500)
    window.grab().save(str(out / "main-window.png"))
    window.close()
    (out / "screenshot-settings.ini").unlink(missing_ok=True)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "docs")
    target.mkdir(parents=True, exist_ok=True)
    make_application()
    main_window_screenshot(target, [DATA / "TEST"])
    print(f"wrote {target / 'main-window.png'}")
