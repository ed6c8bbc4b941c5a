"""How long the GUI event loop stalls while the main window classifies TEST (2,487 images).

A QTimer probe fires every 10 ms in the running app (offscreen); a stall is how much later
than due a tick arrives. Reports the max and 99th percentile stall, and the GUI's
classification rate against the engine's streaming rate on the same files in the same
process (what `bloodcell classify` does). Targets: max stall <= 100 ms (50 ms), rate >= 0.9x.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer

from bench._common import image_files, parser, report

PROBE_MS = 10


def main() -> None:
    args = parser(__doc__).parse_args()
    os.environ["BLOODCELL_DEFAULT_MODEL"] = str(args.model)
    from bloodcell_gui.app import make_application
    from bloodcell_gui.main_window import MainWindow

    app = make_application()
    folder = args.data / "TEST"
    files = image_files(folder)
    # A throwaway settings file: QSettings saves by writing a new file and renaming it over
    # the old one, which would replace a device such as /dev/null with a plain file.
    scratch = tempfile.mkdtemp(prefix="bloodcell-bench-")
    settings = QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()
    window.start()
    loop = QEventLoop()
    window.modelLoaded.connect(loop.quit)
    loop.exec()

    from model.inference.classifier import Classifier  # already imported by the window's worker

    classifier: Classifier = window.loaded.classifier
    sum(1 for _ in classifier.classify(files[:256]))  # warm-up
    started = time.perf_counter()
    assert sum(1 for r in classifier.classify(files) if r.ok) == len(files)
    engine_rate = len(files) / (time.perf_counter() - started)

    clock = QElapsedTimer()
    ticks: list[int] = []
    probe = QTimer(interval=PROBE_MS)
    probe.timeout.connect(lambda: ticks.append(clock.elapsed()))
    done = QEventLoop()
    window.classificationFinished.connect(done.quit)
    clock.start()
    probe.start()
    started = time.perf_counter()
    window.classify([folder])
    done.exec()
    gui_seconds = time.perf_counter() - started
    probe.stop()
    gaps = np.diff(np.array(ticks)) - PROBE_MS
    stalls = np.clip(gaps, 0, None)
    assert window.results.session.classified == len(files)
    report("engine streaming rate (same process)", engine_rate, "img/s")
    report("GUI classification rate", len(files) / gui_seconds, "img/s")
    report("event-loop stall, max", float(stalls.max()), "ms")
    report("event-loop stall, 99th percentile", float(np.percentile(stalls, 99)), "ms")
    report("event-loop stall, median", float(np.median(stalls)), "ms")
    worst = np.argsort(stalls)[-5:][::-1]
    print("worst stalls (ms after the drop: stall):", ", ".join(f"{ticks[i]}: {stalls[i]}" for i in worst))
    print(f"ratio GUI / engine rate   {len(files) / gui_seconds / engine_rate:6.3f}x   (target >= 0.9x)")
    window.close()
    app.processEvents()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
