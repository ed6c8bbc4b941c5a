"""The engine's tests need no Qt: with PySide6 made unimportable (as on a server with no Qt
installed), tests/engine collects and its quick tier passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_engine_tests_run_with_pyside6_unimportable(tmp_path):
    for package in ("PySide6", "shiboken6"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(f"raise ImportError('{package} is not installed here')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:pytest-qt", "-p", "no:cacheprovider", "tests/engine"]
    command += ["-W", "ignore::pytest.PytestConfigWarning", "--deselect", "tests/engine/test_without_qt.py"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
    blocked = subprocess.run(
        [sys.executable, "-c", "import PySide6"], env=env, capture_output=True, text=True, timeout=60
    )
    assert blocked.returncode != 0  # the block itself works, so the run above had no Qt
