"""Model › Train model…: a QWizard over the pages in this package."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QWidget, QWizard

from bloodcell_gui.wizard.augment_page import AugmentPage
from bloodcell_gui.wizard.data_page import DataPage
from bloodcell_gui.wizard.evaluation_page import EvaluationPage
from bloodcell_gui.wizard.save_page import SavePage
from bloodcell_gui.wizard.settings_page import SettingsPage
from bloodcell_gui.wizard.training_page import TrainingPage
from bloodcell_gui.workers import Worker
from model.preprocess import InputPolicy


class TrainingWizard(QWizard):
    modelSaved = Signal(str, bool)  # path, use it now

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Train a model")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.resize(1100, 760)
        self.data_page = DataPage()
        self.augment_page = AugmentPage(self.data_page)
        self.settings_page = SettingsPage(self.data_page, self.augment_page)
        self.training_page = TrainingPage(self.data_page, self.settings_page)
        self.evaluation_page = EvaluationPage(self.data_page, self.training_page)
        models_folder = str(settings.value("folders/models", str(Path.home())))
        self.save_page = SavePage(self.training_page, self.evaluation_page, models_folder)
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
        last = settings.value("folders/training")
        if last:
            self.data_page.train_edit.setText(str(last))

    def input_policy(self) -> InputPolicy:
        return self.settings_page.policy()

    def _finished(self) -> None:
        path = self.save_page.saved_path
        if path is not None:
            self.settings.setValue("folders/training", self.data_page.train_edit.text())
            self.settings.setValue("folders/models", str(path.parent))
            self.modelSaved.emit(str(path), self.save_page.use_now.isChecked())

    def reject(self) -> None:
        """Cancel: stop whatever runs; nothing is written."""
        self.training_page.discard = True
        workers = self.findChildren(Worker)
        for worker in workers:
            worker.cancel()
        for worker in workers:
            worker.wait()
        super().reject()
