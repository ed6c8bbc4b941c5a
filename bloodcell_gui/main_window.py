"""The technician's window: drop images, watch them classified, review, correct, export.

It holds its parts by composition, each given what it needs: the engine's review document
(inside `sessions`), the classification queue, the results model, and one small controller per
concern (images in, models, decisions, exports, sessions, verified cells, the summary). The
layout (MainLayout) builds the widgets they drive.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QAbstractItemView, QMainWindow, QMessageBox

from bloodcell_gui.classification_queue import ClassificationQueue
from bloodcell_gui.export_controller import ExportController
from bloodcell_gui.input_controller import InputController
from bloodcell_gui.main_layout import MainLayout
from bloodcell_gui.model_controller import ModelController
from bloodcell_gui.results_model import ResultsModel, ViewFilter
from bloodcell_gui.review_controller import ReviewController
from bloodcell_gui.session_controller import SessionController
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.summary_presenter import SummaryPresenter
from bloodcell_gui.timers import make_timer
from bloodcell_gui.verified_controller import VerifiedController
from bloodcell_gui.workers import Worker
from model.common.collector import freeze_survivors
from model.common.editions import edition
from model.common.user_folders import user_folders
from model.evaluation.classify_job import ClassifiedBatch, LoadedClassifier
from model.images.magnification import AUTO, fixed_magnification
from model.review.session import ModelIdentity, ReviewSession


class MainWindow(QMainWindow, MainLayout):
    modelLoaded = Signal(object)  # LoadedClassifier
    classificationFinished = Signal()

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.store = SettingsStore(self.settings)
        self.setWindowTitle(edition())
        self.loaded: LoadedClassifier | None = None
        self.results: ResultsModel | None = None
        self.last_error: str = ""
        # What the running classification job added, for the audit trail when it ends.
        self._classified_in_job = 0
        self._job_model: ModelIdentity | None = None
        self.sessions = SessionController(self, self.store)
        self.models = ModelController(self, self.store, self.sessions)
        self.review = ReviewController(self, self.sessions)
        self.exports = ExportController(self, self.store, self.sessions)
        self.verified_cells = VerifiedController(self, self.store, self.sessions)
        self.summary = SummaryPresenter(self)
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
        self.inputs = InputController(self, self.store, self.classify, self.center_stack)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.build_status_bar()
        self.build_menus()
        self.restore_layout()
        self.models.rebuild_recent_menu()
        owns_user_data = self.sessions.claim_user_data()
        self.verified_cells.open_store()
        self._say_what_will_not_be_kept(owns_user_data)

    def _say_what_will_not_be_kept(self, owns_user_data: bool) -> None:
        """Once per run, at start: the folders that cannot be used and what is lost with them."""
        warning = user_folders().warning()
        if not warning and not owns_user_data and self.sessions.data_folder() is not None:
            warning = (
                "Another BloodCell window is open for this user and keeps the automatic save (crash recovery) "
                "and the list of verified cells. This window keeps neither: save its session yourself (Ctrl+S). "
                "Close the other window first to have them here."
            )
        if warning:
            QTimer.singleShot(0, lambda: self.report_error("Some of BloodCell's files cannot be kept", warning))

    # -- what the parts ask of the window
    def start(self) -> None:
        self.models.start()

    def load_model(self, path: Path) -> None:
        self.models.load(path)

    def results_classes(self) -> list[str]:
        return self.results.classes if self.results is not None else []

    def model_classes(self) -> list[str] | None:
        return None if self.loaded is None else self.loaded.classifier.classes

    def status_message(self, text: str, milliseconds: int) -> None:
        self.statusBar().showMessage(text, milliseconds)

    def session_changed_elsewhere(self) -> None:
        self._schedule_refresh()

    def _session_magnification(self):
        """The magnification this session's pictures are framed at: the session's own once
        measured or set, else the lab's fixed one (Session › Lab magnification…), else AUTO."""
        session = self.results.session if self.results is not None else None
        if session is not None and session.magnification is not None:
            return session.magnification
        fixed = self.store.lab_magnification()
        return AUTO if fixed is None else fixed_magnification(fixed)

    def _known_images(self) -> frozenset[str]:
        return self.results.session.known() if self.results is not None else frozenset()

    def start_new_set(self, classes: list[str]) -> None:
        """Set the images aside for the new model; the sample, the reviewer and the trail stay
        (a signed session stays as signed: its images go with it, a new session begins)."""
        old = self.results.session if self.results is not None else None
        self._new_results(classes)
        if old is not None and not old.signed:
            self.results.session.carry_on_from(old, self.models.identity())
            self.sessions.document.adopt(self.results.session)
        else:
            self.sessions.document.start(self.results.session, reviewer=self.store.reviewer())
        self.sessions.show_title()

    def _new_results(self, classes: list[str]) -> None:
        if self.results is not None:
            self.results.close()
        self.results = ResultsModel(classes, self.threshold.value(), parent=self)
        self.results.session.pass_share = self.familiar_share.value() / 100
        self.results.changed.connect(self._schedule_refresh)
        self.results.decided.connect(self.verified_cells.remember_decisions)
        self.attach_results(self.results, self._current_changed)
        self.arrange_table_columns(len(classes))
        self._rebuild_review_menu(classes)
        self._refresh_summary()

    # -- classification
    def classify(self, paths: list[Path]) -> None:
        """Queue files and folders; they are classified as soon as a model is loaded."""
        if self.sessions.refuse_if_signed():
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
            threshold = self.models.unfamiliar_threshold()
            self._classified_in_job += self.results.add_results(batch.results, model, replace, threshold)
            self._job_model = model

    def _progress_changed(self, done: int, total: int, words: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress_label.setText(words)

    def _classification_done(self, words: str) -> None:
        added, self._classified_in_job = self._classified_in_job, 0
        if added and self.results is not None:
            self.results.session.record_classification(self._job_model, added)
            self.sessions.changed(decision=False)
        for widget in (self.progress, self.cancel_button):
            widget.hide()
        self.progress_label.setText(words)
        self.progress_label.setToolTip(words)
        self._refresh_summary()
        # Hiding Cancel would hand the keyboard to the next widget in line (the threshold box,
        # where a 0 meant for review would empty the review bin): give it to the view instead.
        self.current_view().setFocus()
        freeze_survivors()  # the rows will live as long as the session
        self.classificationFinished.emit()

    # -- selection
    def current_view(self) -> QAbstractItemView:
        return self.tabs.currentWidget()

    def selected_rows(self) -> list[int]:
        view = self.current_view()
        if view.selectionModel() is None:
            return []
        return view.model().source_rows(view.selectionModel().selectedIndexes())

    def current_row(self) -> int | None:
        index = self.current_view().currentIndex()
        return self.current_view().model().mapToSource(index).row() if index.isValid() else None

    def _current_changed(self, current, previous) -> None:
        if self.results is not None and current.isValid():
            self.show_detail(current.model().mapToSource(current).row())

    def show_detail(self, row_index: int) -> None:
        self.detail.show_row(self.results.classes, self.results.row(row_index))

    def _show_current_detail(self) -> None:
        """The detail pane shows the current row's answer as it is now (after a new answer, a
        new set or a new session), or nothing: never a row that is gone or an old answer."""
        row = self.current_row() if self.results is not None else None
        if row is None or not 0 <= row < len(self.results.session.rows):
            self.detail.show_row([], None)
        else:
            self.show_detail(row)

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

    def _schedule_refresh(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh_summary(self) -> None:
        self._show_current_detail()
        self.summary.refresh()

    def clear_results(self) -> None:
        """Start afresh with an empty session (unsaved decisions are asked about first)."""
        if self.results is None or self.is_busy() or not self.sessions.confirm_discard():
            return
        self.sessions.start_session(ReviewSession(classes=self.results.classes))
        self.progress_label.clear()
        self.detail.show_row([], None)

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
        self.summary.apply_filter(ViewFilter())
        self.center_stack.setCurrentIndex(1 if session.rows else 0)
        self._refresh_summary()
        freeze_survivors()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.sessions.ask_before_closing():
            event.ignore()
            return
        self.verified_cells.flush()
        self.sessions.close()  # the writes finish, nothing left to recover, the lock freed
        self.store.set_threshold(self.threshold.value())
        self.store.save_window(self.saveGeometry(), self.splitter.saveState())
        self.cancel_classification()
        # A model still loading is importing torch, which cannot be interrupted: quit without
        # waiting for it (it writes nothing).
        self.models.runner.abandon()
        Worker.stop_all()
        if self.results is not None:
            self.results.close()
        self.detail.close_images()
        super().closeEvent(event)
