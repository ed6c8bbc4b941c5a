"""Render the screens shown in the README (offscreen): `python -m tools.screenshots OUTDIR`.

Classifies the TEST folder of the development data with the shipped default model and saves
the main window; then runs the training wizard on part of TRAIN and saves its pages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer

from bloodcell_gui.app import make_application
from bloodcell_gui.main_window import MainWindow
from bloodcell_gui.timers import make_timer
from tools.dev_data import BLOOD_CELLS

REPO = Path(__file__).resolve().parent.parent
DATA = BLOOD_CELLS


def wait_until(condition, timeout_s: float = 600) -> None:
    loop = QEventLoop()
    timer = make_timer(None, 50, single_shot=False)
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    timer.start()
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    timer.stop()


def settle(ms: int = 600) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def loaded_window(settings_file: Path, width: int | None = None, height: int | None = None) -> MainWindow:
    """A main window with fresh settings, shown at `width` x `height` (None: the size it takes on
    its screen), its model loaded."""
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow(settings)
    if width is not None and height is not None:
        window.resize(width, height)
    window.show()
    window.start()
    wait_until(lambda: window.loaded is not None)
    return window


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


def linked_subset(source: Path, target: Path, per_class: int) -> Path:
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        (target / folder.name).mkdir(parents=True, exist_ok=True)
        for file in sorted(folder.iterdir())[:per_class]:
            link = target / folder.name / file.name
            if not link.exists():
                link.symlink_to(file)
    return target


def wizard_screenshots(out: Path) -> None:
    """The augmentation preview and the training page after a short run on part of TRAIN."""
    import tempfile

    settings = QSettings(str(out / "screenshot-settings.ini"), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow(settings)
    window.start()
    wait_until(lambda: window.loaded is not None)
    wizard = window.models.open_training_wizard()
    with tempfile.TemporaryDirectory() as scratch:
        train = linked_subset(DATA / "TRAIN", Path(scratch) / "train", per_class=150)
        test = linked_subset(DATA / "TEST", Path(scratch) / "test", per_class=60)
        wizard.data_page.set_folders(train, test=test)
        wait_until(wizard.data_page.isComplete)
        wizard.data_page.grab().save(str(out / "wizard-data.png"))
        wizard.next()
        wait_until(lambda: not wizard.augment_page.runner.running and wizard.augment_page.captions[0].text() != "")
        settle()
        wizard.grab().save(str(out / "wizard-preview.png"))
        wizard.settings_page.epochs.setValue(6)
        wizard.next()
        settle()
        wizard.grab().save(str(out / "wizard-settings.png"))
        wizard.next()
        wait_until(lambda: not wizard.training_page.runner.running, timeout_s=900)
        settle()
        wizard.grab().save(str(out / "wizard-training.png"))
        wizard.next()
        wait_until(lambda: not wizard.evaluation_page.runner.running, timeout_s=300)
        settle()
        wizard.grab().save(str(out / "wizard-evaluation.png"))
        wizard.reject()
    window.close()
    (out / "screenshot-settings.ini").unlink(missing_ok=True)


SMALL_SCREENS = ((1366, 768), (1024, 700))


def small_screen_screenshots(out: Path) -> None:
    """Every screen at the sizes of lab PCs' screens: docs/small-screens/<screen>-<w>x<h>.png.
    Each size runs in a process of its own on a virtual screen of that size, so the windows
    take the size they take on such a screen (nothing is resized by hand)."""
    import json
    import subprocess
    import tempfile

    out = out / "small-screens"
    out.mkdir(parents=True, exist_ok=True)
    for width, height in SMALL_SCREENS:
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "screen.json"
            screen = {"name": "lab", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96, "dpr": 1}
            config.write_text(json.dumps({"screens": [screen]}))
            env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
            command = [sys.executable, __file__, str(out.parent), f"--screen={width}x{height}"]
            subprocess.run(command, env=env, check=True)
    (out / "screenshot-settings.ini").unlink(missing_ok=True)


def screens_at(out: Path, width: int, height: int) -> None:
    """The main window and each wizard page at one screen size."""
    import tempfile

    size = f"{width}x{height}"
    window = loaded_window(out / "screenshot-settings.ini")
    settle(300)
    window.grab().save(str(out / f"start-{size}.png"))
    window.classify([DATA / "TEST_SIMPLE"])
    wait_until(lambda: not window.is_busy())
    window.grid.setCurrentIndex(window.grid.model().index(3, 0))
    for tab in (window.grid, window.table, window.review_view):
        window.tabs.setCurrentWidget(tab)
        settle(600)
        window.grab().save(
            str(out / f"main-{window.tabs.tabText(window.tabs.currentIndex()).split()[0].lower()}-{size}.png")
        )
    window.tabs.setCurrentWidget(window.grid)
    window.heatmap.cellClicked.emit(3, 0)  # as a click on "true NEUTROPHIL, predicted EOSINOPHIL" does
    settle(600)
    window.grab().save(str(out / f"main-heatmap-filtered-{size}.png"))
    window.show_all.click()
    wizard = window.models.open_training_wizard()
    with tempfile.TemporaryDirectory() as scratch:
        train = linked_subset(DATA / "TRAIN", Path(scratch) / "train", per_class=24)
        test = linked_subset(DATA / "TEST", Path(scratch) / "test", per_class=8)
        wizard.data_page.set_folders(train, test=test)
        wait_until(wizard.data_page.isComplete)
        settle()
        wizard.grab().save(str(out / f"wizard-data-{size}.png"))
        page = wizard.settings_page
        page.arch.setCurrentIndex(page.arch.findData("seed"))
        page.width_box.setValue(64)
        page.height_box.setValue(64)
        page.epochs.setValue(2)
        pages = (
            ("preview", lambda: not wizard.augment_page.runner.running and wizard.augment_page.captions[0].text()),
            ("settings", lambda: True),
            ("training", lambda: not wizard.training_page.runner.running),
            ("evaluation", lambda: not wizard.evaluation_page.runner.running),
            ("save", lambda: True),
        )
        for name, ready in pages:
            wizard.next()
            wait_until(ready, timeout_s=600)
            settle()
            wizard.grab().save(str(out / f"wizard-{name}-{size}.png"))
        wizard.reject()
    window.close()


def adapt_screenshots(out: Path) -> None:
    """Model › Verified cells…, Adapt to this lab… and Match this lab's images… after a technician
    verified 25 cells of each class from another lab, at each small screen size (docs/small-screens/)."""
    import tempfile

    from tools.dev_data import DATA_ROOT

    out = out / "small-screens"
    out.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(out / "screenshot-settings.ini"), QSettings.Format.IniFormat)
    settings.clear()
    with tempfile.TemporaryDirectory() as scratch:
        import bloodcell_gui.session_controller as session_controller

        session_controller.autosave_folder = lambda: Path(scratch) / "app-data"  # not the user's own list
        window = MainWindow(settings)
        window.resize(1366, 768)
        window.show()
        window.start()
        wait_until(lambda: window.loaded is not None)
        window.threshold.setValue(1.0)
        window.classify([linked_subset(DATA_ROOT / "pbc", Path(scratch) / "lab", per_class=25)])
        wait_until(lambda: not window.is_busy())
        session = window.results.session
        for index, row in enumerate(session.rows):
            window.results.set_verified([index], row.truth)
        for width, height in SMALL_SCREENS:
            size = f"{width}x{height}"
            listing = window.verified_cells.show_verified_cells()
            listing.resize(min(820, width - 40), min(480, height - 80))
            settle()
            listing.grab().save(str(out / f"verified-cells-{size}.png"))
            listing.close()
            dialog = window.verified_cells.open_adapt_dialog()
            dialog.resize(min(760, width - 40), height - 80)
            dialog.start()
            wait_until(lambda dialog=dialog: not dialog.runner.running)
            settle()
            dialog.grab().save(str(out / f"adapt-{size}.png"))
            dialog.reject()
            matching = window.verified_cells.open_match_lab_dialog()
            matching.resize(min(700, width - 40), min(420, height - 80))
            matching.start()
            wait_until(lambda matching=matching: not matching.runner.running)
            settle()
            matching.grab().save(str(out / f"match-lab-{size}.png"))
            matching.reject()
        window.sessions.unsaved_decisions = False
        window.close()
    (out / "screenshot-settings.ini").unlink(missing_ok=True)


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    target = Path(arguments[0] if arguments else REPO / "docs")
    target.mkdir(parents=True, exist_ok=True)
    make_application()
    if "--adapt" in sys.argv:
        adapt_screenshots(target)
    elif "--small-screens" in sys.argv:
        small_screen_screenshots(target)
    elif any(a.startswith("--screen=") for a in sys.argv):  # one size, on a screen of that size
        width, height = (int(v) for v in next(a for a in sys.argv if a.startswith("--screen="))[9:].split("x"))
        screens_at(target / "small-screens", width, height)
    else:
        main_window_screenshot(target, [DATA / "TEST"])
        wizard_screenshots(target)
    print(f"wrote the screenshots to {target}")
