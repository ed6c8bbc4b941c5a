"""Drive the Train-model wizard offscreen, with its default settings, on a data folder.

`python -m tools.wizard_full_run TRAIN_DIR TEST_DIR OUT.safetensors` prints the wall time of
the training and the test accuracy the wizard shows, then saves the model through its last page;
pictures of the training and evaluation pages are saved beside the model.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWizard

from bloodcell_gui.app import make_application
from bloodcell_gui.main_window import MainWindow
from tools.screenshots import wait_until


def main(train: Path, test: Path, out: Path) -> None:
    make_application()
    settings = QSettings(str(out.with_suffix(".ini")), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.start()
    wait_until(lambda: window.loaded is not None)
    wizard = window.models.open_training_wizard()
    wizard.data_page.set_folders(train, test=test)
    wait_until(wizard.data_page.isComplete, timeout_s=900)
    wizard.next()
    wizard.next()
    config = wizard.settings_page.config()
    print(f"settings: {config.to_json()}", flush=True)
    started = time.perf_counter()
    wizard.next()
    wait_until(lambda: not wizard.training_page.runner.running, timeout_s=6 * 3600)
    minutes = (time.perf_counter() - started) / 60
    print(f"training page: {minutes:.1f} min; {wizard.training_page.status.text()}", flush=True)
    wizard.resize(1200, 800)
    wizard.grab().save(str(out.with_name("wizard-training-full.png")))
    started = time.perf_counter()
    wizard.next()
    wait_until(lambda: not wizard.evaluation_page.runner.running, timeout_s=3600)
    minutes = (time.perf_counter() - started) / 60
    print(f"evaluation page ({minutes:.1f} min): {wizard.evaluation_page.summary.text()}", flush=True)
    print(f"caution: {wizard.evaluation_page.caution.text() or '(none)'}", flush=True)
    wizard.grab().save(str(out.with_name("wizard-evaluation-full.png")))
    wizard.next()
    wizard.save_page.path.setText(str(out))
    wizard.button(QWizard.WizardButton.FinishButton).click()
    print(f"saved {out}", flush=True)
    window.close()


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
