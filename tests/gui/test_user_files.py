"""What BloodCell leaves in a user's home: only the folders the README names, and an unusable
folder is said once while everything else (settings, exports, the window) goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import real_data

ALLOWED = (".config/BloodCell", ".local/share/BloodCell", ".cache/BloodCell")


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def fresh_home_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MPLCONFIGDIR"))}
    return {**env, "HOME": str(home), "QT_QPA_PLATFORM": "offscreen", **extra}


def run_entry(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bloodcell_gui.entry", *args], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_classify_writes_the_csv_and_nothing_else(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    done = run_entry(
        ["classify", str(real_data() / "TEST_SIMPLE" / "MONOCYTE"), "--csv", str(home / "out.csv")],
        fresh_home_env(home),
        cwd=home,
    )
    assert done.returncode == 0, done.stderr
    assert files_under(home) == ["out.csv"]


@pytest.mark.slow
def test_the_window_writes_only_in_its_own_folders(tmp_path, tiny_model):
    home, exports = tmp_path / "home", tmp_path / "exports"
    home.mkdir(), exports.mkdir()
    env = fresh_home_env(home, BLOODCELL_DEFAULT_MODEL=str(tiny_model), BLOODCELL_EXPORT_AND_QUIT=str(exports))
    done = run_entry([str(real_data() / "TEST_SIMPLE" / "MONOCYTE")], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "exported results.csv report.pdf (4 images)" in done.stdout
    stray = [name for name in files_under(home) if not name.startswith(ALLOWED)]
    assert not stray, stray
    assert (home / ".config" / "BloodCell" / "BloodCell.conf").is_file()


@pytest.mark.slow
def test_a_data_folder_that_is_a_file_is_said_and_settings_are_still_saved(tmp_path, tiny_model):
    home, exports = tmp_path / "home", tmp_path / "exports"
    home.mkdir(), exports.mkdir()
    blocker = home / "data-is-a-file"
    blocker.write_text("not a folder")
    env = fresh_home_env(
        home,
        XDG_DATA_HOME=str(blocker),
        BLOODCELL_DEFAULT_MODEL=str(tiny_model),
        BLOODCELL_EXPORT_AND_QUIT=str(exports),
    )
    done = run_entry([str(real_data() / "TEST_SIMPLE" / "MONOCYTE")], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "exported results.csv report.pdf (4 images)" in done.stdout
    # closeEvent went through: the settings were written after the autosave's removal
    assert "threshold" in (home / ".config" / "BloodCell" / "BloodCell.conf").read_text()
    assert blocker.read_text() == "not a folder"
