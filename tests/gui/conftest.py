import os
from pathlib import Path

# Qt's offscreen screen is 800x800 unless told otherwise; windows now size themselves to their
# screen, so the tests give them an ordinary desktop's (the small-screen tests set their own).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={Path(__file__).parents[1] / 'offscreen-1920x1080.json'}"

import pytest
import torch
from helpers import seed_model_file
from PySide6.QtCore import QSettings

from bloodcell_gui.main_window import MainWindow
from bloodcell_gui.workers import Worker


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained seed network at a small input size: real files, real inference, fast."""
    torch.manual_seed(7)
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    return seed_model_file(path, size=(80, 60), name="tiny test model", metrics={"test": {"accuracy": 0.5}})


@pytest.fixture(autouse=True)
def own_autosave_folder(tmp_path, monkeypatch):
    """Each test's windows autosave into its own folder: a session left by another test (or a
    killed run) would otherwise be offered for recovery, in a modal question."""
    folder = tmp_path / "app-data"
    monkeypatch.setattr("bloodcell_gui.session_controller.autosave_folder", lambda: folder)
    return folder


@pytest.fixture(autouse=True)
def no_worker_left_running():
    yield
    running = Worker.running()
    for worker in running:
        worker.cancel()
        worker.wait(30_000)
    assert not running, f"worker threads still running after the test: {[w.objectName() for w in running]}"


@pytest.fixture
def window(qtbot, tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("BLOODCELL_DEFAULT_MODEL", str(tiny_model))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    main = MainWindow(settings)
    qtbot.addWidget(main)
    main.show()
    main.start()
    qtbot.waitUntil(lambda: main.loaded is not None, timeout=60_000)
    yield main
    main.sessions.unsaved_decisions = False  # a test's decisions are not saved: closing must not ask
    main.close()
