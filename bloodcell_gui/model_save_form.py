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
from bloodcell_gui.workers import TaskRunner, describe_error


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

    def target(self, in_use: Path) -> tuple[Path | None, str]:
        """The chosen file, (the path, "") or (None, why it cannot be written): never the model in use."""
        path = Path(self.path.text().strip())
        if path.suffix != ".safetensors":
            path = path.with_suffix(path.suffix + ".safetensors")
        if path.resolve() == Path(in_use).resolve():
            return None, f"{path} is the model in use: choose another file, so both are kept."
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
        # Writing a model file (its ONNX export and probe check take seconds) is a task too.
        self.saver = TaskRunner(self)

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
        """Write the made model with `save(path, name)` in the background; then say so, switch
        when asked, and close. Returns the file being written, or None (the reason shown)."""
        path, problem = self.saving.target(self.loaded.path)
        if path is None:
            self.error.setText(problem)
            return None
        name = self.saving.name.text().strip() or fallback_name
        self.error.clear()
        self.status.setText(f"Saving {path}…")
        self.saving.setEnabled(False)
        self.saver.start(
            write_model_file,
            save,
            path,
            name,
            on_done=lambda _: self._saved(path),
            on_error=lambda error: self._save_failed(path, error),
        )
        return path

    def _saved(self, path: Path) -> None:
        self.status.setText(f"Saved {path}.")
        self.modelSaved.emit(str(path), self.saving.use_now.isChecked())
        self.accept()

    def _save_failed(self, path: Path, error: BaseException) -> None:
        self.saving.setEnabled(True)
        reason = error.strerror if isinstance(error, OSError) and error.strerror else describe_error(error)
        self.error.setText(f"Could not save {path}: {reason}")

    def done(self, result: int) -> None:
        self.runner.discard()
        super().done(result)


def write_model_file(state, save: Callable[[Path, str], object], path: Path, name: str) -> Path:
    """A task: write a model file with `save(path, name)` (weights, ONNX export, probe check)."""
    save(path, name)
    return path
