"""Time from launching `bloodcell` to its first painted window, against a bare PySide6 window.

Both are fresh processes started from this script, offscreen; the baseline is the least any
Qt app pays. Target: BloodCell's first window within 1.5 s on the development machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

BARE = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
class Watch(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("first-window", flush=True)
            QTimer.singleShot(0, app.quit)
        return False
watch = Watch()
window.installEventFilter(watch)
window.show()
app.exec()
"""


def seconds_to_first_window(command: list[str]) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BLOODCELL_REPORT_FIRST_WINDOW="quit")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    for line in process.stdout:
        if line.startswith("first-window"):
            elapsed = time.perf_counter() - started
            break
    else:
        raise RuntimeError(f"{command} never painted a window")
    process.wait(timeout=120)
    return elapsed


def main() -> None:
    runs = 5
    bare = statistics.median(seconds_to_first_window([sys.executable, "-c", BARE]) for _ in range(runs))
    ours = statistics.median(
        seconds_to_first_window([sys.executable, "-m", "bloodcell_gui.entry"]) for _ in range(runs)
    )
    print(f"bare PySide6 window, first paint      {bare:6.3f} s (median of {runs})")
    print(f"BloodCell main window, first paint    {ours:6.3f} s (median of {runs}; target <= 1.5 s)")
    print(f"ratio BloodCell / bare Qt             {ours / bare:6.2f}x")


if __name__ == "__main__":
    main()
