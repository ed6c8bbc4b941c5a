"""The `bloodcell` command: paths open the window and classify them; --version; no display."""

import os
import subprocess
import sys

from helpers import real_data
from PySide6.QtCore import QSettings

import bloodcell_gui.app as app_module
from bloodcell_gui.entry import main
from bloodcell_gui.main_window import MainWindow
from model.cli.guard import COMMANDS
from model.cli.main import build_parser


def test_the_entry_knows_every_subcommand():
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert set(choices) == set(COMMANDS)


def test_paths_open_the_window_and_are_classified(qtbot, tmp_path, tiny_model, monkeypatch):
    windows = []

    class RecordedWindow(MainWindow):
        def __init__(self) -> None:
            super().__init__(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
            windows.append(self)

    monkeypatch.setenv("BLOODCELL_DEFAULT_MODEL", str(tiny_model))
    monkeypatch.setattr(app_module, "MainWindow", RecordedWindow)
    monkeypatch.setattr(app_module.QApplication, "exec", lambda self: 0)
    folder = real_data() / "TEST_SIMPLE" / "MONOCYTE"
    assert main([str(folder)]) == 0
    window = windows[0]
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.results is not None and window.results.session.classified == 4, timeout=60_000)
    window.close()


def test_version_and_no_display(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    run = [sys.executable, "-m", "bloodcell_gui.entry"]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, env=env, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("bloodcell ")
    window = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert window.returncode == 2 and "no display" in window.stderr and "bloodcell classify" in window.stderr
    assert window.stderr.count("\n") == 1  # one line, no Qt abort
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert "open the window" in helped.stdout and helped.returncode == 0


def test_closing_while_the_model_loads_exits_cleanly_without_waiting_for_it(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BLOODCELL_QUIT_AFTER="0.2", XDG_CONFIG_HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "bloodcell_gui.entry"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Destroyed while thread" not in done.stderr and "Traceback" not in done.stderr
