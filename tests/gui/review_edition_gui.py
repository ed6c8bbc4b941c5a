"""Run by tests/test_review_edition.py in a process of its own, with torch, torchvision and
fastai made unimportable, as they are in BloodCell Review: the window loads the shipped model,
a folder is dropped on it, the results are exported as CSV and PDF. Prints one JSON line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

for blocked in ("torch", "torchvision", "fastai"):
    sys.modules[blocked] = None  # `import torch` now raises ImportError, as in the review build

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from qt_helpers import drop  # noqa: E402

from bloodcell_gui.app import make_application  # noqa: E402
from bloodcell_gui.main_window import MainWindow  # noqa: E402


def wait_for(signal, seconds: float) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main() -> None:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    make_application()
    window = MainWindow()
    window.resize(1366, 768)
    window.show()
    QTimer.singleShot(0, window.start)
    wait_for(window.modelLoaded, 120)
    drop(window, [folder])
    wait_for(window.classificationFinished, 300)
    menu_items = [action.text() for menu in window.menuBar().actions() for action in menu.menu().actions()]
    report = {
        "title": window.windowTitle(),
        "device": window.loaded.device_name if window.loaded else None,
        "rows": window.results.rowCount() if window.results else 0,
        "csv": window.exports.export_csv(out / "review.csv"),
        "pdf": window.exports.export_pdf(out / "review.pdf"),
        "menu": menu_items,
        "torch_loaded": any(sys.modules.get(name) is not None for name in ("torch", "torchvision", "fastai")),
    }
    print("REPORT " + json.dumps(report), flush=True)
    window.close()


if __name__ == "__main__":
    main()
