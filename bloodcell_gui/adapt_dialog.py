"""Model › Adapt to this lab…: fine-tune the model in use on the lab's verified cells, compare
before and after on cells held back, save the adapted model and switch to it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bloodcell_gui.heatmap import ConfusionHeatmap
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.style import ERROR_COLOR, WARNING_COLOR, message_label, plain_label
from bloodcell_gui.verified_dialog import counts_text
from bloodcell_gui.wizard.widgets import folder_row
from bloodcell_gui.workers import TaskRunner, describe_error
from model.classify_job import LoadedClassifier
from model.events import BatchProgress, EpochEnd, ScanProgress
from model.verified import VerifiedStore


def compared(before, after) -> str:
    """Before and after on the held-back cells, in one paragraph."""
    if before is None or after is None:
        return "No cells could be held back (too few per class), so before and after are not compared."
    return (
        f"On {after.total} held-back cells the adapted model is right on {after.accuracy:.1%} "
        f"(before: {before.accuracy:.1%}); balanced accuracy {after.balanced_accuracy:.1%} "
        f"(before {before.balanced_accuracy:.1%}), macro-F1 {after.macro_f1:.3f} (before {before.macro_f1:.3f})."
    )


class AdaptDialog(QDialog):
    modelSaved = Signal(str, bool)  # path, use it now

    def __init__(
        self, verified: VerifiedStore, loaded: LoadedClassifier, settings: SettingsStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adapt to this lab")
        self.resize(760, 620)
        self.loaded = loaded
        self.classes = loaded.classifier.classes
        self.cells, self.missing = verified.cells(self.classes)
        self.runner = TaskRunner(self)
        self.adaptation = None
        self.intro = plain_label(
            f"Fine-tunes {loaded.classifier.info.name} on the cells technicians verified here, so it learns this "
            "lab's stain, camera and magnification. Part of each class is held back to compare the model before "
            "and after on the same cells."
        )
        self.summary = plain_label(counts_text(verified, self.classes))
        self.warning = message_label(WARNING_COLOR)
        self.error = message_label(ERROR_COLOR)
        self.epochs = QSpinBox(minimum=1, maximum=50, value=6)
        self.held_back = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.05, value=0.25, decimals=2)
        self.start_button = QPushButton("Adapt")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop (keep it as it is)")
        self.stop_button.clicked.connect(self.runner.stop)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.status = plain_label()
        self.before_map = ConfusionHeatmap()
        self.after_map = ConfusionHeatmap()
        self.result = plain_label()
        self.name = QLineEdit(f"{loaded.classifier.info.name}, adapted {date.today().isoformat()}")
        self.path = QLineEdit(str(Path(settings.folder("models")) / f"bloodcell-adapted-{date.today()}.safetensors"))
        self.use_now = QCheckBox("Use the adapted model now")
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self._build_layout()
        self._check_cells()
        self._set_running(False)

    def _build_layout(self) -> None:
        settings = QFormLayout()
        settings.addRow("Epochs (whole network)", self.epochs)
        settings.addRow("Share of each class held back", self.held_back)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        maps = QGridLayout()
        maps.addWidget(plain_label("Before (the model in use)"), 0, 0)
        maps.addWidget(plain_label("After (adapted)"), 0, 1)
        maps.addWidget(self.before_map, 1, 0)
        maps.addWidget(self.after_map, 1, 1)
        save = QFormLayout()
        save.addRow("Name", self.name)
        save.addRow("File", folder_row(self.path, self._browse))
        save.addRow(self.use_now, self.save_button)
        layout = QVBoxLayout(self)
        for widget in (self.intro, self.summary, self.warning):
            layout.addWidget(widget)
        layout.addLayout(settings)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(maps, 1)
        layout.addWidget(self.result)
        layout.addLayout(save)
        layout.addWidget(self.error)

    def _check_cells(self) -> None:
        from model.finetune import coverage_problems

        refusals, warnings = coverage_problems(self.cells, self.classes)
        if self.missing:
            warnings.append(f"{len(self.missing)} verified cell(s) left out: {self.missing[0]}")
        self.warning.setText("\n".join(refusals + warnings))
        self.warning.setStyleSheet(f"color: {ERROR_COLOR if refusals else WARNING_COLOR}")
        self.can_start = not refusals

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(self.can_start and not running)
        self.stop_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        has_model = self.adaptation is not None and not running
        for widget in (self.name, self.path, self.use_now, self.save_button):
            widget.setEnabled(has_model)

    def start(self) -> None:
        from model.finetune import adapt_file
        from model.finetune_settings import FinetuneSettings

        settings = FinetuneSettings(epochs=self.epochs.value(), held_back_share=self.held_back.value())
        self.adaptation = None
        self.error.clear()
        self.result.clear()
        self.progress.setRange(0, 0)
        self.status.setText(f"Adapting on {len(self.cells)} cells…")
        self.runner.start(
            adapt_file,
            self.loaded.path,
            self.cells,
            settings,
            on_progress=self._progress,
            on_done=self._done,
            on_error=lambda error: self.error.setText(f"Adaptation failed: {describe_error(error)}"),
            on_finished=lambda: self._set_running(False),
        )
        self._set_running(True)

    def cancel(self) -> None:
        """Stop and keep nothing."""
        self.runner.discard()
        self.status.setText("Cancelled: nothing was kept.")
        self._set_running(False)

    def _progress(self, event) -> None:
        if isinstance(event, BatchProgress):
            self.progress.setRange(0, event.n_epochs * event.n_batches)
            self.progress.setValue(event.epoch * event.n_batches + event.batch + 1)
        elif isinstance(event, EpochEnd):
            self.status.setText(f"Epoch {event.epoch + 1} of {event.n_epochs}: training loss {event.train_loss:.3f}")
        elif isinstance(event, ScanProgress):
            self.status.setText(f"{event.what.capitalize()}: {event.done} of {event.total}")

    def _done(self, adaptation) -> None:
        self.adaptation = adaptation
        for heatmap, evaluation in ((self.before_map, adaptation.before), (self.after_map, adaptation.after)):
            if evaluation is None:
                heatmap.clear()
            else:
                heatmap.set_data(self.classes, evaluation.confusion.tolist())
        stopped = " Stopped on request: the weights reached so far are kept." if adaptation.stopped_by_user else ""
        self.status.setText(f"Done in {adaptation.seconds:.0f} s.{stopped}")
        better = adaptation.after is not None and (
            adaptation.after.balanced_accuracy > adaptation.before.balanced_accuracy
        )
        if adaptation.references is not None:
            statistics = "Its unfamiliar-image statistics were measured anew, on this lab's cells."
        else:
            statistics = (
                f"It has no unfamiliar-image statistics ({adaptation.references_problem}), so nothing it classifies "
                "goes to the Unidentified bin."
            )
        self.result.setText(f"{compared(adaptation.before, adaptation.after)}\n{statistics}")
        self.use_now.setChecked(better)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save adapted model", self.path.text(), "BloodCell model (*.safetensors)"
        )
        if path:
            self.path.setText(path)

    def save(self) -> Path | None:
        from model.finetune import save_adaptation

        if self.adaptation is None:
            return None
        path = Path(self.path.text().strip())
        if path.suffix != ".safetensors":
            path = path.with_suffix(path.suffix + ".safetensors")
        if path.resolve() == Path(self.loaded.path).resolve():
            self.error.setText(f"{path} is the model being adapted: choose another file, so both are kept.")
            return None
        try:
            save_adaptation(self.adaptation, path, name=self.name.text().strip() or "Adapted model")
        except OSError as error:
            self.error.setText(f"Could not save {path}: {error.strerror or error}")
            return None
        self.status.setText(f"Saved {path}.")
        self.modelSaved.emit(str(path), self.use_now.isChecked())
        self.accept()
        return path

    def done(self, result: int) -> None:
        self.runner.discard()
        super().done(result)
