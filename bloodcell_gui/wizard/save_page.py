"""Wizard page 6: name the model, write it (atomically), and optionally use it right away."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
    QWizardPage,
)

from bloodcell_gui.style import ERROR_COLOR, WARNING_COLOR, message_label
from bloodcell_gui.wizard.widgets import folder_row
from bloodcell_gui.workers import TaskRunner, describe_error
from model.training.run import TrainingRun


class SavePage(QWizardPage):
    def __init__(self, run: TrainingRun, default_folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Save the model")
        self.setSubTitle("The file records the data summary, the settings and the metrics shown before.")
        self.run = run
        self.name = QLineEdit(f"BloodCell model {date.today().isoformat()}")
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Optional: what this model is for, which stain or scanner, who trained it…")
        self.path = QLineEdit(str(Path(default_folder) / f"bloodcell-{date.today().isoformat()}.safetensors"))
        self.use_now = QCheckBox("Use this model now in the main window")
        self.verdict = message_label(WARNING_COLOR)
        self.error = message_label(ERROR_COLOR)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Notes", self.notes)
        form.addRow("File", folder_row(self.path, self._browse))
        form.addRow(self.use_now)
        form.addRow(self.verdict)
        form.addRow(self.error)
        self.saved_path: Path | None = None
        self.saver = TaskRunner(self)

    def initializePage(self) -> None:
        """Offer the new model for use only when it is worth it; otherwise say why, and leave
        the choice to the technician."""
        trained, evaluation = self.run.trained, self.run.evaluation
        if trained is None or evaluation is None:
            return
        recommended, words = evaluation.go_live(len(trained.classes), trained.valid_metrics.get("accuracy", 0.0))
        self.use_now.setChecked(recommended)
        self.verdict.setStyleSheet(f"color: {WARNING_COLOR if not recommended else '#1a1a1a'}")
        self.verdict.setText(words + ("" if recommended else " Tick the box above to use it anyway."))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save model", self.path.text(), "BloodCell model (*.safetensors)")
        if path:
            self.path.setText(path)

    def target(self) -> Path:
        path = Path(self.path.text().strip())
        return path if path.suffix == ".safetensors" else path.with_suffix(path.suffix + ".safetensors")

    def validatePage(self) -> bool:
        """Finish writes the file in the background (its ONNX export and probe check take
        seconds) and closes the wizard when it is written; a failure keeps the wizard open and
        says why."""
        if self.saved_path is not None:
            return True  # written: Finish again, from `_saved`
        if self.run.trained is None:
            self.error.setText("There is no trained model to save.")
            return False
        if self.saver.running:
            return False
        target = self.target()
        self.error.setText(f"Saving {target}…")
        self.setEnabled(False)
        name = self.name.text().strip() or "BloodCell model"
        notes = self.notes.toPlainText().strip()
        self.saver.start(
            save_run, self.run, target, name, notes, on_done=self._saved, on_error=lambda e: self._failed(target, e)
        )
        return False

    def _saved(self, path: Path) -> None:
        self.saved_path = path
        self.error.clear()
        self.setEnabled(True)
        self.wizard().accept()

    def _failed(self, target: Path, error: BaseException) -> None:
        self.setEnabled(True)
        reason = error.strerror if isinstance(error, OSError) and error.strerror else describe_error(error)
        self.error.setText(f"Could not save {target}: {reason}")


def save_run(state, run: TrainingRun, path: Path, name: str, notes: str) -> Path:
    """A task: write the trained model's file."""
    return run.save(path, name=name, notes=notes)
