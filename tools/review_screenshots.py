"""Render BloodCell Review's screens (offscreen, torch made unimportable as in its bundle):
`python -m tools.review_screenshots [OUTDIR]` (default docs/small-screens): the main window
with TEST_SIMPLE classified, its Model menu, and what *Train or adapt a model…* says, at the
sizes of lab PCs' screens."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def block_training_stack() -> None:
    """Make torch, torchvision and fastai unimportable, as they are in BloodCell Review's bundle
    (before anything imports them: only when run as a script)."""
    for blocked in ("torch", "torchvision", "fastai"):
        sys.modules[blocked] = None  # type: ignore[assignment]


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from bloodcell_gui.app import make_application
    from tools.dev_data import BLOOD_CELLS
    from tools.screenshots import loaded_window, settle, wait_until

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/small-screens")
    out.mkdir(parents=True, exist_ok=True)
    make_application()
    for width, height in ((1366, 768), (1024, 700)):
        window = loaded_window(out / "review-settings.ini", width, height)
        window.classify([BLOOD_CELLS / "TEST_SIMPLE"])
        wait_until(lambda window=window: not window.is_busy())
        settle()
        window.grab().save(str(out / f"review-main-{width}x{height}.png"))
        model_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Model")
        model_menu.popup(window.mapToGlobal(window.menuBar().geometry().bottomLeft()))
        settle(300)
        model_menu.grab().save(str(out / f"review-model-menu-{width}x{height}.png"))
        model_menu.hide()
        box = window.verified_cells.explain_where_to_train()
        settle(300)
        box.grab().save(str(out / f"review-where-to-train-{width}x{height}.png"))
        box.close()
        window.close()
    (out / "review-settings.ini").unlink(missing_ok=True)


if __name__ == "__main__":
    block_training_stack()
    main()
