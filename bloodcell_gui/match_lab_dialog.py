"""Model › Match this lab's images…: the model in use gets this lab's normalisation, measured on
the images of the current session (no labels), and is saved as a new file to switch to."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtWidgets import (
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bloodcell_gui.model_save_form import DerivedModelDialog, ModelSaveForm
from bloodcell_gui.screens import fit_to_screen
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.style import ERROR_COLOR, WARNING_COLOR, message_label, plain_label
from bloodcell_gui.workers import describe_error
from model.common.events import ScanProgress
from model.evaluation.classify_job import LoadedClassifier

# model.adaptation.lab_statistics imports torch; its thresholds are repeated here as the dialog's wording
# only, and the engine enforces them (a test keeps the two equal).
MIN_IMAGES = 100
SUGGESTED_IMAGES = 500


class MatchLabDialog(DerivedModelDialog):
    def __init__(
        self, paths: list[Path], loaded: LoadedClassifier, settings: SettingsStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Match this lab's images")
        fit_to_screen(self, 700, 420)
        self.loaded = loaded
        self.paths = list(dict.fromkeys(paths))
        self.match = None
        name = loaded.classifier.info.name
        self.intro = plain_label(
            f"Moves {name}'s normalisation to this lab's pictures (stain, camera, magnification), measured on the "
            f"{len(self.paths)} images of this session. No classes are needed and the network's weights are kept. "
            "Measured here it usually helps a lot (a model trained in one lab: 38 % to 76 % balanced accuracy on a "
            "second lab's cells) but not always, so check the matched model on cells verified here before relying "
            "on it."
        )
        self.warning = message_label(WARNING_COLOR)
        self.note = plain_label(
            "The matched model has no unfamiliar-image statistics, so nothing goes to the Unidentified bin until it "
            "is calibrated on cells verified here (Model › Adapt to this lab…)."
        )
        self.error = message_label(ERROR_COLOR)
        self.start_button = QPushButton("Match")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.status = plain_label()
        self.saving = ModelSaveForm(
            f"{name}, matched to this lab {date.today().isoformat()}",
            "bloodcell-matched",
            "Use the matched model now",
            settings,
            self,
        )
        self.use_now.setChecked(True)
        self.save_button.clicked.connect(self.save)
        self._build_layout()
        self.can_start = len(self.paths) >= MIN_IMAGES
        if not self.can_start:
            self.warning.setText(
                f"At least {MIN_IMAGES} images of this lab are needed ({SUGGESTED_IMAGES} or more are better); "
                f"this session has {len(self.paths)}. Classify more of the lab's images first."
            )
            self.warning.setStyleSheet(f"color: {ERROR_COLOR}")
        elif len(self.paths) < SUGGESTED_IMAGES:
            self.warning.setText(f"{SUGGESTED_IMAGES} or more images give steadier statistics.")
        self._set_running(False)
        self.start_button.setDefault(True)  # Enter matches: the one thing to do on opening
        self.start_button.setFocus()

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        for widget in (self.intro, self.warning, self.note):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.saving)
        layout.addWidget(self.error)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(self.can_start and not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        self.saving.set_ready(self.match is not None and not running)

    def start(self) -> None:
        from model.common.task import imported_task

        self.match = None
        self.error.clear()
        self.progress.setRange(0, 0)
        self.status.setText(f"Reading {len(self.paths)} images…")
        self.runner.start(
            imported_task("model.adaptation.lab_statistics", "match_file"),
            self.loaded.path,
            self.paths,
            on_progress=self._progress,
            on_done=self._done,
            on_error=lambda error: self.error.setText(f"Matching failed: {describe_error(error)}"),
            on_finished=lambda: self._set_running(False),
        )
        self._set_running(True)

    def _progress(self, event) -> None:
        if isinstance(event, ScanProgress):
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
            self.status.setText(f"{event.what.capitalize()}: {event.done} of {event.total}")

    def _done(self, match) -> None:
        self.match = match
        left_out = ""
        if match.left_out:
            path, reason = match.left_out[0]
            left_out = f" {len(match.left_out)} left out, e.g. {path.name}: {reason}."
        self.status.setText(f"Measured on {match.images_used} images in {match.seconds:.0f} s.{left_out}")

    def save(self) -> Path | None:
        from model.adaptation.lab_statistics import save_match

        made = self.match
        if made is None:
            return None
        return self.save_with(lambda path, name: save_match(made, path, name=name), "Matched model")
