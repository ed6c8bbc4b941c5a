"""The model in use: loading one in the background (the last, the default, a chosen or a newly
saved one), what happens to results already on screen, and how the window describes it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog

from bloodcell_gui.model_info import ModelInfoDialog
from bloodcell_gui.model_switch import ask_about_results
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.workers import TaskRunner, describe_error
from model.common.resources import default_model_path
from model.evaluation.classify_job import LoadedClassifier, load_classifier
from model.networks.catalogue import can_match_lab
from model.review.session import ModelIdentity


class ModelController(QObject):
    """Loads models for `window` (its `loaded`, `results`, `queue`, `modelLoaded`, the status
    bar's labels, `start_new_set` and `report_error`); `sessions` offers a crash's recovery."""

    def __init__(self, window, store: SettingsStore, sessions) -> None:
        super().__init__(window)
        self.window, self.store, self.sessions = window, store, sessions
        self.runner = TaskRunner(self)

    def start(self) -> None:
        """Called once the window is on screen: load the last or the default model."""
        self.load(self.store.last_model() or default_model_path())

    @property
    def loading(self) -> bool:
        return self.runner.running

    def load(self, path: Path) -> None:
        """Load a model in the background; a later request supersedes one still loading."""
        self.window.model_label.setText(f"Loading model {Path(path).name}…")
        self.runner.start(
            load_classifier,
            Path(path),
            on_done=self._loaded,
            on_error=lambda error: self._failed(describe_error(error)),
        )

    def _failed(self, message: str) -> None:
        self.describe()
        self.window.report_error("Could not load the model", f"{message}\n\nThe current model stays loaded.")

    def _loaded(self, loaded: LoadedClassifier) -> None:
        window = self.window
        if window.loaded is None:  # the first model of this run: offer what a crash left behind
            QTimer.singleShot(0, self.sessions.offer_recovery)
        classes = loaded.classifier.classes
        choice = ask_about_results(window, loaded, window.results) if window.loaded is not None else "new"
        if choice == "keep-old-model":
            self.describe()
            return
        window.loaded = loaded
        self.store.remember_model(loaded.path)
        self.rebuild_recent_menu()
        if choice == "new" and (
            window.results is None or window.results.rowCount() or window.results.classes != classes
        ):
            window.start_new_set(classes)
        self.describe()
        window.modelLoaded.emit(loaded)
        window.queue.set_classifier(loaded.classifier, self.identity())
        if choice == "reclassify":
            window.queue.reclassify([row.path for row in window.results.session.rows if row.ok])

    def identity(self) -> ModelIdentity | None:
        loaded = self.window.loaded
        return None if loaded is None else ModelIdentity(loaded.classifier.info.name, loaded.sha256)

    def unfamiliar_threshold(self) -> float | None:
        """The loaded model's unfamiliarity threshold at the technician's setting; None when
        the model has no reference statistics (it cannot tell)."""
        loaded = self.window.loaded
        return None if loaded is None else loaded.classifier.threshold(self.window.familiar_share.value() / 100)

    def familiar_share_changed(self, value: float) -> None:
        window = self.window
        self.store.set_familiar_share(value / 100)
        if window.results is not None:
            window.results.set_pass_share(value / 100)
        if window.results is not None and window.loaded is not None:
            window.results.set_unfamiliar_threshold(self.identity(), self.unfamiliar_threshold())

    def can_match_lab(self) -> bool:
        """Whether the loaded model keeps statistics that matching to a lab can move."""
        loaded = self.window.loaded
        return loaded is not None and can_match_lab(n.arch for n in loaded.classifier.info.networks)

    def describe(self) -> None:
        window = self.window
        loaded = window.loaded
        can_tell = loaded is not None and loaded.classifier.references is not None
        window.familiar_share.setEnabled(can_tell)
        window.familiar_share.setToolTip(
            "Images less familiar than this share of the model's own held-out images go to the Unidentified tab"
            if can_tell
            else "This model file has no unfamiliar-image statistics, so nothing goes to the Unidentified tab; "
            "`bloodcell calibrate` adds them"
        )
        if hasattr(window, "match_lab_action"):  # the Review edition has no such action
            window.match_lab_action.setEnabled(self.can_match_lab())
        if loaded is None:
            window.model_label.setText("No model loaded: use Model › Load model…")
            return
        info = loaded.classifier.info
        folder = str((info.metrics.get("test") or {}).get("folder") or "")
        where = f" on {Path(folder).name}" if folder else ""
        accuracy = info.test_accuracy
        accuracy_text = (
            " · no test accuracy recorded" if accuracy is None else f" · test accuracy {accuracy:.1%}{where}"
        )
        # The name up to its description in brackets, so that the accuracy fits too; all on hover.
        window.model_label.setText(f"Model: {info.name.split(' (', 1)[0]}{accuracy_text}")
        window.model_label.setToolTip(f"Model: {info.name}{accuracy_text}\n{loaded.path}")
        window.device_label.setText(f" · Device: {loaded.device_name}")

    def rebuild_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        for path in self.store.recent_models():
            menu.addAction(path).triggered.connect(lambda checked=False, p=path: self.load(Path(p)))
        menu.setEnabled(bool(self.store.recent_models()))

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Load model", self.store.folder("models"), "BloodCell models (*.safetensors);;All files (*)"
        )
        if path:
            self.store.remember_folder("models", Path(path).parent)
            self.load(Path(path))

    def show_info(self) -> None:
        loaded = self.window.loaded
        if loaded is None:
            self.window.report_error("No model", "No model is loaded yet.")
            return
        ModelInfoDialog(loaded.classifier.info, loaded.path, loaded.sha256, self.window).open()

    def open_training_wizard(self):
        from bloodcell_gui.wizard.training_wizard import TrainingWizard

        loaded = self.window.loaded
        wizard = TrainingWizard(self.store, loaded.classifier if loaded is not None else None, parent=self.window)
        wizard.modelSaved.connect(lambda path, use_now: self.load(Path(path)) if use_now else None)
        wizard.open()
        return wizard
