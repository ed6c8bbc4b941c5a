"""Dialogs that make a model from the one in use in a background task (adapting, matching to a
lab), and the form at their end: its name, the file to write (never the model in use), whether
to switch to it, and Save."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDialog, QFileDialog, QFormLayout, QLineEdit, QPushButton, QWidget

from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.wizard.widgets import folder_row
from bloodcell_gui.workers import TaskRunner


class ModelSaveForm(QWidget):
    def __init__(self, name: str, file_stem: str, use_now: str, settings: SettingsStore, parent: QWidget) -> None:
        super().__init__(parent)
        self.name = QLineEdit(name)
        self.path = QLineEdit(str(Path(settings.folder("models")) / f"{file_stem}-{date.today()}.safetensors"))
        self.use_now = QCheckBox(use_now)
        self.save_button = QPushButton("Save")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Name", self.name)
        form.addRow("File", folder_row(self.path, self._browse))
        form.addRow(self.use_now, self.save_button)

    def set_ready(self, ready: bool) -> None:
        """The whole form (Browse… too) only once there is a model to save."""
        self.setEnabled(ready)

    def write(self, save: Callable[[Path, str], object], in_use: Path, fallback_name: str) -> tuple[Path | None, str]:
        """Call `save(path, name)` for the chosen file; (the path, "") or (None, why not)."""
        path = Path(self.path.text().strip())
        if path.suffix != ".safetensors":
            path = path.with_suffix(path.suffix + ".safetensors")
        if path.resolve() == Path(in_use).resolve():
            return None, f"{path} is the model in use: choose another file, so both are kept."
        try:
            save(path, self.name.text().strip() or fallback_name)
        except OSError as error:
            return None, f"Could not save {path}: {error.strerror or error}"
        return path, ""

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save model", self.path.text(), "BloodCell model (*.safetensors)")
        if path:
            self.path.setText(path)


class DerivedModelDialog(QDialog):
    """Runs its task in `runner`; Cancel or closing keeps nothing; Save writes through `saving`.
    Subclasses make `saving`, `status`, `error` and `loaded`, and `_set_running`."""

    modelSaved = Signal(str, bool)  # path, use it now

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(self)

    def _set_running(self, running: bool) -> None:
        raise NotImplementedError

    # The save form's fields, as the dialog's own (what a technician sees in it).
    @property
    def path(self) -> QLineEdit:
        return self.saving.path

    @property
    def use_now(self) -> QCheckBox:
        return self.saving.use_now

    @property
    def save_button(self) -> QPushButton:
        return self.saving.save_button

    def cancel(self) -> None:
        """Stop and keep nothing."""
        self.runner.discard()
        self.status.setText("Cancelled: nothing was kept.")
        self._set_running(False)

    def save_with(self, save: Callable[[Path, str], object], fallback_name: str) -> Path | None:
        """Write the made model with `save(path, name)`, say so, switch when asked, and close."""
        path, problem = self.saving.write(save, self.loaded.path, fallback_name)
        if path is None:
            self.error.setText(problem)
            return None
        self.status.setText(f"Saved {path}.")
        self.modelSaved.emit(str(path), self.saving.use_now.isChecked())
        self.accept()
        return path

    def done(self, result: int) -> None:
        self.runner.discard()
        super().done(result)
