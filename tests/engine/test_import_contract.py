"""The engine never imports Qt, and the headless CLI never loads it."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QT_PACKAGES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "bloodcell_gui")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_model_package_imports_no_qt():
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in imported_modules(path) if m.startswith(QT_PACKAGES))
        for path in (REPO / "model").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_cli_runs_without_loading_qt(tmp_path):
    script = (
        "import sys\n"
        "from bloodcell_gui.entry import main\n"
        "code = main(['info'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print('QT', loaded)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "QT []" in done.stdout
    assert '"format": "bloodcell-model"' in done.stdout
