"""Model › Adapt to this lab…: fine-tune the model in use on the lab's verified cells, compare
before and after on cells held back, save the adapted model and switch to it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bloodcell_gui.heatmap import ConfusionHeatmap
from bloodcell_gui.model_save_form import DerivedModelDialog, ModelSaveForm
from bloodcell_gui.screens import fit_to_screen
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.style import ERROR_COLOR, WARNING_COLOR, message_label, plain_label
from bloodcell_gui.verified_dialog import counts_text
from bloodcell_gui.wizard.widgets import int_spin, spin
from bloodcell_gui.workers import describe_error
from model.common.events import BatchProgress, EpochEnd, ScanProgress, StageStart
from model.evaluation.classify_job import LoadedClassifier
from model.review.verified import VerifiedStore


def compared(before, after) -> str:
    """Before and after on the held-back cells, in one paragraph."""
    if before is None or after is None:
        return "No cells could be held back (too few per class), so before and after are not compared."
    return (
        f"On {after.total} held-back cells the adapted model is right on {after.accuracy:.1%} "
        f"(before: {before.accuracy:.1%}); balanced accuracy {after.balanced_accuracy:.1%} "
        f"(before {before.balanced_accuracy:.1%}), macro-F1 {after.macro_f1:.3f} (before {before.macro_f1:.3f})."
    )


class AdaptDialog(DerivedModelDialog):
    def __init__(
        self, verified: VerifiedStore, loaded: LoadedClassifier, settings: SettingsStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adapt to this lab")
        fit_to_screen(self, 760, 620)
        self.loaded = loaded
        self.classes = loaded.classifier.classes
        self.verified = verified
        self.cells, self.missing = verified.cells(self.classes)
        # Where the cells were decided: one line per sample, ticked to learn from it (another
        # lab's cells, or a test slide's, can be left out).
        self.sources = QListWidget()
        for sample, count in verified.samples().items():
            item = QListWidgetItem(f"{sample or '(no sample ID)'}: {count} cell(s)")
            item.setData(Qt.ItemDataRole.UserRole, sample)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.sources.addItem(item)
        self.sources.setMaximumHeight(90)
        self.sources.itemChanged.connect(self._sources_changed)
        self.adaptation = None
        self.intro = plain_label(
            f"Fine-tunes {loaded.classifier.info.name} on the cells technicians verified here, so it learns this "
            "lab's stain, camera and magnification. Part of each class is held back to compare the model before "
            "and after on the same cells."
        )
        self.summary = plain_label(counts_text(verified, self.classes))
        self.warning = message_label(WARNING_COLOR)
        self.error = message_label(ERROR_COLOR)
        self.stage = ""  # which network and phase the epochs belong to (model.common.events.StageStart)
        self.epochs = int_spin(1, 50, 6)
        self.held_back = spin(0.0, 0.5, 0.05, 0.25)
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
        self.saving = ModelSaveForm(
            f"{loaded.classifier.info.name}, adapted {date.today().isoformat()}",
            "bloodcell-adapted",
            "Use the adapted model now",
            settings,
            self,
        )
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
        layout = QVBoxLayout(self)
        for widget in (self.intro, self.summary, plain_label("Learn from the cells of these samples:"), self.sources):
            layout.addWidget(widget)
        layout.addWidget(self.warning)
        layout.addLayout(settings)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(maps, 1)
        layout.addWidget(self.result)
        layout.addWidget(self.saving)
        layout.addWidget(self.error)

    def chosen_samples(self) -> set[str]:
        items = (self.sources.item(i) for i in range(self.sources.count()))
        checked = Qt.CheckState.Checked
        return {item.data(Qt.ItemDataRole.UserRole) for item in items if item.checkState() == checked}

    def _sources_changed(self) -> None:
        self.cells, self.missing = self.verified.cells(self.classes, self.chosen_samples())
        self._check_cells()
        self._set_running(False)

    def _check_cells(self) -> None:
        from model.adaptation.checks import coverage_problems

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
        self.saving.set_ready(self.adaptation is not None and not running)

    def start(self) -> None:
        from model.adaptation.settings import FinetuneSettings
        from model.common.task import imported_task

        settings = FinetuneSettings(epochs=self.epochs.value(), held_back_share=self.held_back.value())
        self.adaptation = None
        self.error.clear()
        self.result.clear()
        self.progress.setRange(0, 0)
        self.status.setText(f"Adapting on {len(self.cells)} cells…")
        self.runner.start(
            imported_task("model.adaptation.finetune", "adapt_file"),
            self.loaded.path,
            self.cells,
            settings,
            on_progress=self._progress,
            on_done=self._done,
            on_error=lambda error: self.error.setText(f"Adaptation failed: {describe_error(error)}"),
            on_finished=lambda: self._set_running(False),
        )
        self._set_running(True)

    def _progress(self, event) -> None:
        if isinstance(event, StageStart):
            self.stage = event.describe()
            self.status.setText(self.stage.capitalize())
        elif isinstance(event, BatchProgress):
            self.progress.setRange(0, event.n_epochs * event.n_batches)
            self.progress.setValue(event.epoch * event.n_batches + event.batch + 1)
        elif isinstance(event, EpochEnd):
            self.status.setText(
                f"{self.stage.capitalize()}: epoch {event.epoch + 1} of {event.n_epochs}, "
                f"training loss {event.train_loss:.3f}"
            )
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
        if adaptation.references is not None:
            statistics = "Its unfamiliar-image statistics were measured anew, on this lab's cells."
        else:
            statistics = (
                f"It has no unfamiliar-image statistics ({adaptation.references_problem}), so nothing it classifies "
                "goes to the Unidentified bin."
            )
        verdict = adaptation.verdict  # better only on every class held back (model.adaptation.judgement)
        self.result.setText(
            f"{compared(adaptation.before, adaptation.after)}\nVerdict: {verdict.reason}.\n{statistics}"
        )
        self.use_now.setChecked(verdict.better)

    def save(self) -> Path | None:
        from model.adaptation.finetune import save_adaptation

        made = self.adaptation
        if made is None:
            return None
        return self.save_with(lambda path, name: save_adaptation(made, path, name=name), "Adapted model")
