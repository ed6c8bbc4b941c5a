"""Model › Train model…: a QWizard over the pages in this package."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget, QWizard

from bloodcell_gui.screens import fit_to_screen
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.wizard.augment_page import AugmentPage
from bloodcell_gui.wizard.data_page import DataPage
from bloodcell_gui.wizard.evaluation_page import EvaluationPage
from bloodcell_gui.wizard.save_page import SavePage
from bloodcell_gui.wizard.settings_page import SettingsPage
from bloodcell_gui.wizard.training_page import TrainingPage
from bloodcell_gui.workers import TaskRunner
from model.training.run import TrainingRun


class TrainingWizard(QWizard):
    modelSaved = Signal(str, bool)  # path, use it now

    def __init__(self, store: SettingsStore, baseline=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Train a model")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        fit_to_screen(self, 1100, 760)
        # The pages share one training run; each page adds what it decides and reads what
        # earlier pages decided from it, so no page knows another.
        self.run = TrainingRun(baseline=baseline)  # the model in use, compared on the test folder
        self.data_page = DataPage(self.run)
        self.augment_page = AugmentPage(self.run)
        self.settings_page = SettingsPage(self.run)
        self.training_page = TrainingPage(self.run)
        self.evaluation_page = EvaluationPage(self.run)
        self.save_page = SavePage(self.run, store.folder("models"))
        for page in (
            self.data_page,
            self.augment_page,
            self.settings_page,
            self.training_page,
            self.evaluation_page,
            self.save_page,
        ):
            self.addPage(page)
        self.accepted.connect(self._finished)
        last = store.settings.value("folders/training")
        if last:
            self.data_page.train_edit.setText(str(last))

    def _finished(self) -> None:
        path = self.save_page.saved_path
        if path is not None:
            self.store.remember_folder("training", Path(self.data_page.train_edit.text()))
            self.store.remember_folder("models", path.parent)
            self.modelSaved.emit(str(path), self.save_page.use_now.isChecked())

    def reject(self) -> None:
        """Cancel: stop whatever runs; nothing is written."""
        runners = self.findChildren(TaskRunner)
        for runner in runners:
            runner.discard()
        for runner in runners:
            runner.wait()
        super().reject()
