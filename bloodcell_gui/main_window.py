"""The technician's window: drop images, watch them classified, review, correct, export.

It lays out and connects the parts that do the work: the classification queue, the results
model (with its thumbnails), the detail panel, the settings store.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QMainWindow,
    QMessageBox,
)

from bloodcell_gui.classification_queue import ClassificationQueue
from bloodcell_gui.export_actions import ExportActions
from bloodcell_gui.input_actions import InputActions
from bloodcell_gui.main_layout import NO_TRUTH_YET, MainLayout
from bloodcell_gui.model_info import ModelInfoDialog
from bloodcell_gui.model_switch import ask_about_results
from bloodcell_gui.results_model import GROUP_ROLE, ResultsFilter, ResultsModel, ViewFilter
from bloodcell_gui.review_actions import ReviewActions
from bloodcell_gui.screens import fit_to_screen, shrink_to_screen
from bloodcell_gui.session_actions import SessionActions
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.thumbnail_view import ThumbnailDelegate
from bloodcell_gui.timers import make_timer
from bloodcell_gui.verified_actions import VerifiedActions
from bloodcell_gui.workers import TaskRunner, Worker, describe_error
from model.common.editions import edition, training_available
from model.common.resources import default_model_path
from model.common.user_folders import user_folders
from model.evaluation.classify_job import ClassifiedBatch, LoadedClassifier, load_classifier
from model.images.magnification import AUTO
from model.networks.catalogue import can_match_lab
from model.review.session import ModelIdentity, ReviewSession
from model.unfamiliar.statistics import AnotherLab


# InputActions comes first: its drag-and-drop handlers override QWidget's.
class MainWindow(InputActions, QMainWindow, MainLayout, ExportActions, ReviewActions, SessionActions, VerifiedActions):
    modelLoaded = Signal(object)  # LoadedClassifier
    classificationFinished = Signal()

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.store = SettingsStore(self.settings)
        self.setWindowTitle(edition())
        self.setAcceptDrops(True)
        self.loaded: LoadedClassifier | None = None
        self.results: ResultsModel | None = None
        self.last_error: str = ""
        # What the running classification job added, for the audit trail when it ends.
        self._classified_in_job = 0
        self._job_model: ModelIdentity | None = None
        self.model_runner = TaskRunner(self)
        self.queue = ClassificationQueue(self._known_images, self)
        self.queue.magnification = self._session_magnification
        self.queue.started.connect(self._job_started)
        self.queue.batchReady.connect(self._batch_classified)
        self.queue.progressChanged.connect(self._progress_changed)
        self.queue.failed.connect(lambda message: self.report_error("Classification stopped", message))
        self.queue.finished.connect(self._classification_done)
        self._refresh_timer = make_timer(self, 150, single_shot=True)
        self._refresh_timer.timeout.connect(self._refresh_summary)
        self.build_layout()
        self.tabs.currentChanged.connect(self._tab_changed)
        self.build_status_bar()
        self.build_menus()
        self._restore_settings()
        owns_user_data = self.claim_user_data()
        self.open_verified_store()
        self._say_what_will_not_be_kept(owns_user_data)

    def _say_what_will_not_be_kept(self, owns_user_data: bool) -> None:
        """Once per run, at start: the folders that cannot be used and what is lost with them."""
        warning = user_folders().warning()
        if not warning and not owns_user_data and self.data_folder() is not None:
            warning = (
                "Another BloodCell window is open for this user and keeps the automatic save (crash recovery) "
                "and the list of verified cells. This window keeps neither: save its session yourself (Ctrl+S). "
                "Close the other window first to have them here."
            )
        if warning:
            QTimer.singleShot(0, lambda: self.report_error("Some of BloodCell's files cannot be kept", warning))

    # ----------------------------------------------------------------- settings
    def _restore_settings(self) -> None:
        geometry = self.store.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            fit_to_screen(self, 1360, 820)
        else:
            shrink_to_screen(self)  # saved on a larger screen
        splitter = self.store.splitter()
        if splitter is None or not self.splitter.restoreState(splitter):
            # Shares of the width, so a 1024-pixel screen keeps the thumbnails, not the margins.
            width = self.width()
            self.splitter.setSizes([int(width * 0.3), int(width * 0.48), int(width * 0.22)])
        self.threshold.setValue(self.store.threshold())
        self.familiar_share.setValue(self.store.familiar_share() * 100)
        self._rebuild_recent_menu()

    def recent_models(self) -> list[str]:
        return self.store.recent_models()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_models():
            self.recent_menu.addAction(path).triggered.connect(lambda checked=False, p=path: self.load_model(Path(p)))
        self.recent_menu.setEnabled(bool(self.recent_models()))

    # ----------------------------------------------------------------- models
    def start(self) -> None:
        """Called once the window is on screen: load the last or the default model."""
        self.load_model(self.store.last_model() or default_model_path())

    @property
    def model_loading(self) -> bool:
        return self.model_runner.running

    def load_model(self, path: Path) -> None:
        """Load a model in the background; a later request supersedes one still loading."""
        self.model_label.setText(f"Loading model {Path(path).name}…")
        self.model_runner.start(
            load_classifier,
            Path(path),
            on_done=self._model_loaded,
            on_error=lambda error: self._model_failed(describe_error(error)),
        )

    def _model_failed(self, message: str) -> None:
        self._describe_model()
        self.report_error("Could not load the model", f"{message}\n\nThe current model stays loaded.")

    def _session_magnification(self):
        """The magnification this session's pictures are framed at, or AUTO to measure it."""
        session = self.results.session if self.results is not None else None
        return session.magnification if session is not None and session.magnification is not None else AUTO

    def _known_images(self) -> frozenset[str]:
        return self.results.session.known() if self.results is not None else frozenset()

    def _model_loaded(self, loaded: LoadedClassifier) -> None:
        if self.loaded is None:  # the first model of this run: offer what a crash left behind
            QTimer.singleShot(0, self.offer_recovery)
        classes = loaded.classifier.classes
        choice = ask_about_results(self, loaded, self.results) if self.loaded is not None else "new"
        if choice == "keep-old-model":
            self._describe_model()
            return
        self.loaded = loaded
        self.store.remember_model(loaded.path)
        self._rebuild_recent_menu()
        if choice == "new" and (self.results is None or self.results.rowCount() or self.results.classes != classes):
            self._start_new_set(classes)
        self._describe_model()
        self.modelLoaded.emit(loaded)
        self.queue.set_classifier(loaded.classifier, self.model_identity())
        if choice == "reclassify":
            self.queue.reclassify([row.path for row in self.results.session.rows if row.ok])

    def model_identity(self) -> ModelIdentity | None:
        if self.loaded is None:
            return None
        return ModelIdentity(self.loaded.classifier.info.name, self.loaded.sha256)

    def unfamiliar_threshold(self) -> float | None:
        """The loaded model's unfamiliarity threshold at the technician's setting; None when
        the model has no reference statistics (it cannot tell)."""
        if self.loaded is None:
            return None
        return self.loaded.classifier.threshold(self.familiar_share.value() / 100)

    def _familiar_share_changed(self, value: float) -> None:
        self.store.set_familiar_share(value / 100)
        if self.results is not None:
            self.results.set_pass_share(value / 100)
        if self.results is not None and self.loaded is not None:
            self.results.set_unfamiliar_threshold(self.model_identity(), self.unfamiliar_threshold())

    def _describe_model(self) -> None:
        can_tell = self.loaded is not None and self.loaded.classifier.references is not None
        self.familiar_share.setEnabled(can_tell)
        self.familiar_share.setToolTip(
            "Images less familiar than this share of the model's own held-out images go to the Unidentified tab"
            if can_tell
            else "This model file has no unfamiliar-image statistics, so nothing goes to the Unidentified tab; "
            "`bloodcell calibrate` adds them"
        )
        if hasattr(self, "match_lab_action"):  # the Review edition has no such action
            self.match_lab_action.setEnabled(self.can_match_lab())
        if self.loaded is None:
            self.model_label.setText("No model loaded: use Model › Load model…")
            return
        info = self.loaded.classifier.info
        accuracy = info.test_accuracy
        folder = str((info.metrics.get("test") or {}).get("folder") or "")
        where = f" on {Path(folder).name}" if folder else ""
        accuracy_text = " · no test accuracy recorded"
        if accuracy is not None:
            accuracy_text = f" · test accuracy {accuracy:.1%}{where}"
        # The name up to its description in brackets, so that the accuracy fits too; all on hover.
        short_name = info.name.split(" (", 1)[0]
        self.model_label.setText(f"Model: {short_name}{accuracy_text}")
        self.model_label.setToolTip(f"Model: {info.name}{accuracy_text}\n{self.loaded.path}")
        self.device_label.setText(f" · Device: {self.loaded.device_name}")

    def _start_new_set(self, classes: list[str]) -> None:
        """Set the images aside for the new model; the sample, the reviewer and the trail stay
        (a signed session stays as signed: its images go with it, a new session begins)."""
        old = self.results.session if self.results is not None else None
        self._new_results(classes)
        if old is None or old.signed:
            return
        self.results.session.carry_on_from(old, self.model_identity())

    def _new_results(self, classes: list[str]) -> None:
        if self.results is not None:
            self.results.close()
        self.results = ResultsModel(classes, self.threshold.value(), parent=self)
        self.results.session.pass_share = self.familiar_share.value() / 100
        self.results.changed.connect(self._schedule_refresh)
        self.results.decided.connect(self.remember_decisions)
        self.grid_filter = ResultsFilter(self.results, ViewFilter(readable_only=True))
        self.table_filter = ResultsFilter(self.results)
        self.review_filter = ResultsFilter(self.results, ViewFilter(review_only=True))
        self.unidentified_filter = ResultsFilter(self.results, ViewFilter(unidentified_only=True))
        self.failed_filter = ResultsFilter(self.results, ViewFilter(failed_only=True))
        delegate = ThumbnailDelegate(self.results, self)
        for view, proxy in (
            (self.grid, self.grid_filter),
            (self.table, self.table_filter),
            (self.review_view, self.review_filter),
            (self.unidentified_view, self.unidentified_filter),
            (self.failed_view, self.failed_filter),
        ):
            view.setModel(proxy)
            view.selectionModel().currentChanged.connect(self._current_changed)
        for view in (self.grid, self.review_view, self.unidentified_view):
            view.setItemDelegate(delegate)
        for proxy in (self.grid_filter, self.review_filter, self.unidentified_filter):
            proxy.setSortRole(GROUP_ROLE)
            proxy.setDynamicSortFilter(True)
            proxy.sort(0, Qt.SortOrder.AscendingOrder)
        self.failed_view.setColumnHidden(1, True)
        for column in range(2, self.results.columnCount() - 1):
            self.failed_view.setColumnHidden(column, True)
        self.arrange_table_columns(len(classes))
        self._rebuild_review_menu(classes)
        self._refresh_summary()

    def show_model_info(self) -> None:
        if self.loaded is None:
            self.report_error("No model", "No model is loaded yet.")
            return
        ModelInfoDialog(self.loaded.classifier.info, self.loaded.path, self.loaded.sha256, self).open()

    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load model", self.store.folder("models"), "BloodCell models (*.safetensors);;All files (*)"
        )
        if path:
            self.store.remember_folder("models", Path(path).parent)
            self.load_model(Path(path))

    def open_training_wizard(self):
        from bloodcell_gui.wizard.training_wizard import TrainingWizard

        baseline = self.loaded.classifier if self.loaded is not None else None
        wizard = TrainingWizard(self.store, baseline, parent=self)
        wizard.modelSaved.connect(lambda path, use_now: self.load_model(Path(path)) if use_now else None)
        wizard.open()
        return wizard

    # ----------------------------------------------------------------- classification
    def classify(self, paths: list[Path]) -> None:
        """Queue files and folders; they are classified as soon as a model is loaded."""
        if self._refuse_if_signed():
            return
        self.center_stack.setCurrentIndex(1)
        self.queue.add(paths)
        if self.loaded is None:
            self.progress_label.setText(f"{len(paths)} item(s) waiting for the model to load…")
            self.progress_label.show()

    def is_busy(self) -> bool:
        return self.queue.busy

    def cancel_classification(self) -> None:
        self.queue.cancel()
        self.current_view().setFocus()

    def _job_started(self) -> None:
        self.progress.setRange(0, 0)
        for widget in (self.progress, self.progress_label, self.cancel_button):
            widget.show()
        self.progress_label.setText("Finding images…")

    def _batch_classified(self, batch: ClassifiedBatch, model: ModelIdentity, replace: bool) -> None:
        if self.results is not None:
            if self.results.session.magnification is None and batch.magnification is not None:
                self.results.session.magnification = batch.magnification  # what frames the rest of it
            added = self.results.add_results(batch.results, model, replace, self.unfamiliar_threshold())
            self._classified_in_job += added
            self._job_model = model

    def _progress_changed(self, done: int, total: int, words: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress_label.setText(words)

    def _classification_done(self, words: str) -> None:
        added, self._classified_in_job = self._classified_in_job, 0
        if added and self.results is not None:
            self.results.session.record_classification(self._job_model, added)
            self.session_changed(decision=False)
        for widget in (self.progress, self.cancel_button):
            widget.hide()
        self.progress_label.setText(words)
        self.progress_label.setToolTip(words)
        self._refresh_summary()
        # Hiding Cancel would hand the keyboard to the next widget in line (the threshold box,
        # where a 0 meant for review would empty the review bin): give it to the view instead.
        self.current_view().setFocus()
        self.classificationFinished.emit()

    # ----------------------------------------------------------------- selection and review
    def current_view(self) -> QAbstractItemView:
        return self.tabs.currentWidget()

    def selected_rows(self) -> list[int]:
        view = self.current_view()
        if view.selectionModel() is None:
            return []
        return view.model().source_rows(view.selectionModel().selectedIndexes())

    def current_row(self) -> int | None:
        view = self.current_view()
        index = view.currentIndex()
        return view.model().mapToSource(index).row() if index.isValid() else None

    def _current_changed(self, current, previous) -> None:
        if self.results is not None and current.isValid():
            self._show_detail(current.model().mapToSource(current).row())

    def _show_detail(self, row_index: int) -> None:
        self.detail.show_row(self.results.classes, self.results.row(row_index))

    def _show_current_detail(self) -> None:
        """The detail pane shows the current row's answer as it is now (after a new answer, a
        new set or a new session), or nothing: never a row that is gone or an old answer."""
        row = self.current_row() if self.results is not None else None
        if row is None or not 0 <= row < len(self.results.session.rows):
            self.detail.show_row([], None)
        else:
            self._show_detail(row)

    def _tab_changed(self, _index: int) -> None:
        """A tab opens with a row selected, so that the first key acts on what is shown."""
        view = self.current_view()
        model = view.model() if hasattr(view, "model") else None
        selection = view.selectionModel() if model is not None else None
        if selection is not None and model.rowCount() and not selection.hasSelection():
            # the row the view already points at (it may have kept one), else the first
            shown = view.currentIndex() if view.currentIndex().isValid() else model.index(0, 0)
            flags = QItemSelectionModel.SelectionFlag
            selection.setCurrentIndex(shown, flags.ClearAndSelect | flags.Rows)
        view.setFocus()  # the keyboard goes with the list shown, not the tab bar clicked
        self._show_current_detail()

    def _threshold_changed(self, value: float) -> None:
        if self.results is not None:
            self.results.set_threshold(value)
            self.review_filter.refilter()
            self.unidentified_filter.refilter()

    # ----------------------------------------------------------------- filters and summary
    def _filter_class(self, index: int) -> None:
        self._apply_filter(ViewFilter() if index < 0 else ViewFilter(final_class=index))

    def _filter_cell(self, true_index: int, predicted_index: int) -> None:
        cell = (true_index, predicted_index)
        self._apply_filter(ViewFilter() if self.grid_filter.view_filter.cell == cell else ViewFilter(cell=cell))
        self.tabs.setCurrentWidget(self.grid)

    def _apply_filter(self, view_filter: ViewFilter) -> None:
        if self.results is None:
            return
        self.grid_filter.set_filter(ViewFilter(**{**view_filter.__dict__, "readable_only": True}))
        self.table_filter.set_filter(view_filter)
        self.differential.set_selected(view_filter.final_class)
        self.heatmap.set_selected(view_filter.cell)
        description = view_filter.describe(self.results.classes)
        self.filter_label.setText(f"Showing only: {description} ({self.table_filter.rowCount()} images)")
        self.filter_bar.setVisible(bool(description))

    def _schedule_refresh(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh_summary(self) -> None:
        self._show_current_detail()
        self._refresh_totals()

    def _refresh_totals(self) -> None:
        if self.results is None:
            return
        session = self.results.session
        self.differential.set_counts(session.classes, session.counts())
        failed = len(session.failed)
        reviewed = sum(r.reviewed for r in session.rows)
        can_tell = self.loaded is not None and self.loaded.classifier.references is not None
        unidentified = f"{session.unidentified_count} unidentified" if can_tell else "unidentified: not available"
        magnification = f" · magnification ×{session.magnification.factor:.2f}" if session.magnification else ""
        self.totals.setText(
            f"{session.classified} classified · {session.review_count} to review · {unidentified} · "
            f"{reviewed} reviewed · {failed} unreadable{magnification}"
        )
        self.totals.setToolTip(session.magnification.describe() if session.magnification else "")
        self._show_lab_hint(session.another_lab())
        # A signed session keeps the thresholds it was signed with: the settings cannot move them.
        self.threshold.setEnabled(not session.signed)
        self.familiar_share.setEnabled(not session.signed and can_tell)
        provisional = session.provisional
        self.differential_box.setTitle("Differential (provisional)" if provisional else "Differential")
        self.differential_box.setToolTip(
            "The images look like a lab new to the model: its answers are provisional until a technician has "
            "reviewed every one of them (Review tab)."
            if provisional
            else ""
        )
        self.tabs.setTabText(self.tabs.indexOf(self.review_view), f"Review ({session.review_count})")
        self.tabs.setTabText(self.tabs.indexOf(self.unidentified_view), f"Unidentified ({session.unidentified_count})")
        self.tabs.setTabText(self.tabs.indexOf(self.failed_view), f"Unreadable ({failed})")
        evaluation = session.evaluation()
        if evaluation is None:
            self.heatmap.clear()
            self.accuracy.setText(NO_TRUTH_YET)
        else:
            self.heatmap.set_data(session.classes, evaluation.confusion.tolist())
            self.accuracy.setText(
                f"Accuracy <b>{evaluation.accuracy:.1%}</b> on {evaluation.total} images with a class folder "
                f"(balanced accuracy {evaluation.balanced_accuracy:.1%}, macro-F1 {evaluation.macro_f1:.3f}). "
                "Click a cell to see its images."
            )

    def _show_lab_hint(self, new_lab: AnotherLab | None) -> None:
        if new_lab is None:
            self.lab_hint.hide()
            return
        if not training_available():
            link = '<a href="where">How to fit the model to this lab…</a>'
        elif self.can_match_lab():
            link = '<a href="match">Match the model to this lab\'s images…</a>'
        else:  # normalised per picture: nothing to match, but verified cells can adapt it
            link = '<a href="adapt">Adapt the model from cells verified here…</a>'
        self.lab_hint.setText(f"<b>A new lab?</b> {html.escape(new_lab.describe())}. {link}")
        self.lab_hint.show()

    def _lab_hint_link(self, link: str) -> None:
        opens = {"match": self.open_match_lab_dialog, "adapt": self.open_adapt_dialog}
        opens.get(link, self.explain_where_to_train)()

    def can_match_lab(self) -> bool:
        """Whether the loaded model keeps statistics that matching to a lab can move."""
        return self.loaded is not None and can_match_lab(n.arch for n in self.loaded.classifier.info.networks)

    def clear_results(self) -> None:
        """Start afresh with an empty session (unsaved decisions are asked about first)."""
        if self.results is None or self.is_busy() or not self.confirm_discard():
            return
        self.start_session(ReviewSession(classes=self.results.classes))
        self.progress_label.clear()
        self.detail.show_row([], None)

    # ----------------------------------------------------------------- errors and closing
    def report_error(self, title: str, text: str) -> None:
        """A window-modal message that does not block the event loop."""
        self.last_error = text
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()

    def load_session_rows(self, session) -> None:
        """Show a session (opened, recovered, a new version): its rows replace the ones here."""
        self._new_results(session.classes or (self.results.classes if self.results else []))
        self.results.load_session(session)
        self.threshold.setValue(session.threshold)
        self._apply_filter(ViewFilter())
        self.center_stack.setCurrentIndex(1 if session.rows else 0)
        self._refresh_summary()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.ask_before_closing():
            event.ignore()
            return
        self.remove_autosave()  # a clean close: nothing to recover next time
        self.flush_verified()
        self.store.set_threshold(self.threshold.value())
        self.store.save_window(self.saveGeometry(), self.splitter.saveState())
        self.cancel_classification()
        # A model still loading is importing torch, which cannot be interrupted: quit without
        # waiting for it (it writes nothing).
        self.model_runner.abandon()
        Worker.stop_all()
        if self.results is not None:
            self.results.close()
        self.detail.close_images()
        self.release_user_data()  # the next window may own the autosave and verified cells
        super().closeEvent(event)
