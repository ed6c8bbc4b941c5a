"""The window starts under locales that change how letters case-fold (Turkish's dotted and
dotless i), and no widget is built with Qt property keywords, which PySide6 6.11 looks up
through the C locale."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO


def compiled_locale(tmp_path: Path, name: str) -> Path:
    """`name` compiled into a folder of our own (LOCPATH): no root, no system change."""
    if shutil.which("localedef") is None or not Path("/usr/share/i18n/locales", name.split(".")[0]).exists():
        pytest.skip(f"this machine cannot compile the {name} locale")
    folder = tmp_path / "locales"
    folder.mkdir()
    language, charset = name.split(".")
    subprocess.run(["localedef", "-i", language, "-f", charset, str(folder / name)], check=True)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tr_TR.UTF-8", "az_AZ.UTF-8"])
def test_the_window_starts_under_a_turkic_locale(tmp_path, tiny_model, name):
    env = {
        **os.environ,
        "LOCPATH": str(compiled_locale(tmp_path, name)),
        "LANG": name,
        "LC_ALL": name,
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
        "BLOODCELL_DEFAULT_MODEL": str(tiny_model),
        "BLOODCELL_REPORT_FIRST_WINDOW": "quit",
        "QT_QPA_PLATFORM": "offscreen",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bloodcell_gui.entry"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "first-window" in done.stdout


def keyword_constructed_qt_objects(source: Path) -> list[str]:
    """Calls like `QTimer(self, interval=150)`: a Qt class given keywords other than parent."""
    found = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name.startswith("Q") and name[1:2].isupper():
                keywords = [k.arg for k in node.keywords if k.arg != "parent"]
                if keywords:
                    found.append(f"{source.relative_to(REPO)}:{node.lineno} {name}({', '.join(map(str, keywords))}=…)")
    return found


def test_no_qt_object_is_built_with_property_keywords():
    sources = [*(REPO / "bloodcell_gui").rglob("*.py"), *(REPO / "scripts").rglob("*.py")]
    found = [line for source in sources for line in keyword_constructed_qt_objects(source)]
    assert not found, "set Qt properties with setters (see bloodcell_gui/timers.py):\n" + "\n".join(found)
