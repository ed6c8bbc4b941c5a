"""The technician's window: drop images, watch them classified, review, correct, export."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QModelIndex, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from bloodcell_gui.detail import DetailPanel
from bloodcell_gui.differential import DifferentialView
from bloodcell_gui.heatmap import ConfusionHeatmap
from bloodcell_gui.model_info import ModelInfoDialog
from bloodcell_gui.results_model import GROUP_ROLE, ResultsFilter, ResultsModel, ViewFilter
from bloodcell_gui.tasks import ClassifiedBatch, LoadedClassifier, classify_inputs, load_classifier
from bloodcell_gui.thumbnail_view import ThumbnailDelegate, configure_thumbnail_view
from bloodcell_gui.thumbnails import ThumbnailCache
from bloodcell_gui.workers import Worker
from model.formatting import format_seconds
from model.resources import default_model_path
from model.review import DEFAULT_REVIEW_THRESHOLD

MAX_RECENT_MODELS = 8


class MainWindow(QMainWindow):
    modelLoaded = Signal(object)  # LoadedClassifier
    classificationFinished = Signal()

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.setWindowTitle("BloodCell")
        self.setAcceptDrops(True)
        self.loaded: LoadedClassifier | None = None
        self.results: ResultsModel | None = None
        self.queue: list[Path] = []
        self.classify_worker: Worker | None = None
        self.model_worker: Worker | None = None
        self.last_error: str = ""
        self._job_total = 0
        self._job_base = 0
        self._started = 0.0
        self.thumbnails = ThumbnailCache(QSize(120, 90), parent=self)
        self.large_images = ThumbnailCache(QSize(640, 480), capacity=40, parent=self)
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self.large_images.ready.connect(self._large_image_ready)
        self._path_rows: dict[Path, list[int]] = {}
        self._refresh_timer = QTimer(self, singleShot=True, interval=150)
        self._refresh_timer.timeout.connect(self._refresh_summary)
        self._build_widgets()
        self._build_menus()
        self._restore_settings()

    # ----------------------------------------------------------------- building
    def _build_widgets(self) -> None:
        self.differential = DifferentialView()
        self.differential.classClicked.connect(self._filter_class)
        self.differential.reclassifyRequested.connect(self._reclassify_rows)
        self.totals = QLabel("No images yet")
        self.totals.setWordWrap(True)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setToolTip("Images whose confidence is below this go to the Review tab")
        self.threshold.valueChanged.connect(self._threshold_changed)
        summary_box = QGroupBox("Differential")
        summary_layout = QVBoxLayout(summary_box)
        summary_layout.addWidget(self.differential)
        summary_layout.addWidget(self.totals)
        form = QFormLayout()
        form.addRow("Review below confidence", self.threshold)
        summary_layout.addLayout(form)

        self.heatmap = ConfusionHeatmap()
        self.heatmap.cellClicked.connect(self._filter_cell)
        self.accuracy = QLabel("Drop a folder with class subfolders (EOSINOPHIL/, …) to compare with ground truth.")
        self.accuracy.setWordWrap(True)
        truth_box = QGroupBox("Ground truth")
        truth_layout = QVBoxLayout(truth_box)
        truth_layout.addWidget(self.accuracy)
        truth_layout.addWidget(self.heatmap, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(summary_box)
        left_layout.addWidget(truth_box, 1)

        self.filter_label = QLabel()
        self.show_all = QPushButton("Show all")
        self.show_all.clicked.connect(lambda: self._apply_filter(ViewFilter()))
        filter_bar = QWidget()
        filter_layout = QHBoxLayout(filter_bar)
        filter_layout.setContentsMargins(4, 0, 4, 0)
        filter_layout.addWidget(self.filter_label, 1)
        filter_layout.addWidget(self.show_all)
        self.filter_bar = filter_bar
        filter_bar.hide()

        self.grid = QListView()
        self.table = QTableView()
        self.review_view = QListView()
        self.failed_view = QTableView()
        for view in (self.grid, self.review_view):
            configure_thumbnail_view(view)
        for view in (self.table, self.failed_view):
            view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            view.setSortingEnabled(True)
            view.setAlternatingRowColors(True)
            view.verticalHeader().setDefaultSectionSize(22)
            view.verticalHeader().hide()
        self.table.setDragEnabled(True)
        for view in (self.grid, self.table, self.review_view):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(self._context_menu)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.grid, "Thumbnails")
        self.tabs.addTab(self.table, "Table")
        self.tabs.addTab(self.review_view, "Review")
        self.tabs.addTab(self.failed_view, "Unreadable")

        self.drop_hint = QLabel(
            "<div style='font-size:18pt;color:#555'>Drop images or folders here</div>"
            "<div style='color:#777'>or use File › Open files… / Open folder…<br><br>"
            "A folder with subfolders named after the classes is compared with that ground truth.</div>"
        )
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setObjectName("dropHint")
        self.center_stack = QStackedWidget()
        self.center_stack.addWidget(self.drop_hint)
        results_page = QWidget()
        results_layout = QVBoxLayout(results_page)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(filter_bar)
        results_layout.addWidget(self.tabs, 1)
        self.center_stack.addWidget(results_page)

        self.detail = DetailPanel()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.center_stack)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([420, 700, 320])
        self.setCentralWidget(self.splitter)

        self.model_label = QLabel("Loading model…")
        self.device_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_classification)
        for widget in (self.progress, self.progress_label, self.cancel_button):
            widget.hide()
        status = self.statusBar()
        status.addWidget(self.model_label)
        status.addWidget(self.device_label)
        status.addPermanentWidget(self.progress_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_files_action = file_menu.addAction("Open files…", QKeySequence.StandardKey.Open)
        self.open_files_action.triggered.connect(self.open_files_dialog)
        file_menu.addAction("Open folder…", QKeySequence("Ctrl+Shift+O")).triggered.connect(self.open_folder_dialog)
        file_menu.addSeparator()
        self.export_csv_action = file_menu.addAction("Export CSV…", QKeySequence("Ctrl+E"))
        self.export_csv_action.triggered.connect(self.export_csv_dialog)
        self.export_pdf_action = file_menu.addAction("Export PDF report…", QKeySequence.StandardKey.Print)
        self.export_pdf_action.triggered.connect(self.export_pdf_dialog)
        file_menu.addSeparator()
        file_menu.addAction("Clear results").triggered.connect(self.clear_results)
        file_menu.addAction("Quit", QKeySequence.StandardKey.Quit).triggered.connect(self.close)

        model_menu = self.menuBar().addMenu("&Model")
        model_menu.addAction("Load model…").triggered.connect(self.load_model_dialog)
        self.recent_menu = model_menu.addMenu("Recent models")
        model_menu.addAction("Model information…").triggered.connect(self.show_model_info)
        model_menu.addSeparator()
        self.train_action = model_menu.addAction("Train model…")
        self.train_action.triggered.connect(self.open_training_wizard)

        self.review_menu = self.menuBar().addMenu("&Review")
        self.class_actions = QActionGroup(self)
        self.mark_reviewed_action = QAction("Mark reviewed", self, shortcut=QKeySequence("R"))
        self.mark_reviewed_action.triggered.connect(lambda: self._mark_selected_reviewed(True))
        self.clear_verified_action = QAction("Clear my class", self, shortcut=QKeySequence("0"))
        self.clear_verified_action.triggered.connect(lambda: self._reclassify_rows(self.selected_rows(), None))
        self.addAction(self.mark_reviewed_action)
        self.addAction(self.clear_verified_action)
        self._rebuild_review_menu([])

    def _rebuild_review_menu(self, classes: list[str]) -> None:
        self.review_menu.clear()
        for action in self.class_actions.actions():
            self.removeAction(action)
            self.class_actions.removeAction(action)
        for i, name in enumerate(classes):
            action = QAction(f"Reclassify as {name}", self)
            if i < 9:
                action.setShortcut(QKeySequence(str(i + 1)))
            action.triggered.connect(lambda checked=False, index=i: self._reclassify_rows(self.selected_rows(), index))
            self.class_actions.addAction(action)
            self.addAction(action)
            self.review_menu.addAction(action)
        self.review_menu.addSeparator()
        self.review_menu.addAction(self.mark_reviewed_action)
        self.review_menu.addAction(self.clear_verified_action)

    # ----------------------------------------------------------------- settings
    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 820)
        splitter = self.settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self.threshold.setValue(float(self.settings.value("review/threshold", DEFAULT_REVIEW_THRESHOLD)))
        self._rebuild_recent_menu()

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("review/threshold", self.threshold.value())
        self.settings.sync()

    def recent_models(self) -> list[str]:
        value = self.settings.value("models/recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember_model(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_models() if p != str(path)]
        self.settings.setValue("models/recent", recent[:MAX_RECENT_MODELS])
        self.settings.setValue("models/last", str(path))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_models():
            self.recent_menu.addAction(path).triggered.connect(lambda checked=False, p=path: self.load_model(Path(p)))
        self.recent_menu.setEnabled(bool(self.recent_models()))

    def _remember_folder(self, key: str, path: Path) -> None:
        self.settings.setValue(f"folders/{key}", str(path))

    def _folder(self, key: str) -> str:
        return str(self.settings.value(f"folders/{key}", str(Path.home())))

    # ----------------------------------------------------------------- models
    def start(self) -> None:
        """Called once the window is on screen: load the last or the default model."""
        last = self.settings.value("models/last")
        path = Path(last) if last and Path(last).is_file() else default_model_path()
        self.load_model(path)

    def load_model(self, path: Path) -> None:
        if self.model_worker is not None:
            return
        self.model_label.setText(f"Loading model {path.name}…")
        worker = Worker(load_classifier, Path(path), parent=self)
        worker.succeeded.connect(self._model_loaded)
        worker.failed.connect(lambda message: self._model_failed(path, message))
        worker.finished.connect(self._model_worker_done)
        self.model_worker = worker.start()

    def _model_worker_done(self) -> None:
        self.model_worker = None

    def _model_failed(self, path: Path, message: str) -> None:
        self._describe_model()
        self.report_error("Could not load the model", f"{message}\n\nThe current model stays loaded.")

    def _model_loaded(self, loaded: LoadedClassifier) -> None:
        previous = self.loaded
        if self.results is not None and self.results.classes != loaded.classifier.classes and self.results.rowCount():
            answer = QMessageBox.question(
                self,
                "Different classes",
                f"{loaded.path.name} knows other classes ({', '.join(loaded.classifier.classes)}).\n"
                "Switching clears the current results. Export them first if you need them.\n\nSwitch anyway?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                self._describe_model()
                return
        self.loaded = loaded
        self._remember_model(loaded.path)
        if previous is None or self.results is None or self.results.classes != loaded.classifier.classes:
            self._new_results(loaded.classifier.classes)
        self._describe_model()
        self.modelLoaded.emit(loaded)
        self._start_next()

    def _describe_model(self) -> None:
        if self.loaded is None:
            self.model_label.setText("No model loaded: use Model › Load model…")
            return
        info = self.loaded.classifier.info
        accuracy = info.test_accuracy
        accuracy_text = f" · TEST accuracy {accuracy:.1%}" if accuracy is not None else " · no test accuracy recorded"
        self.model_label.setText(f"Model: {info.name}{accuracy_text}")
        self.model_label.setToolTip(str(self.loaded.path))
        self.device_label.setText(f" · Device: {self.loaded.device_name}")

    def _new_results(self, classes: list[str]) -> None:
        self.results = ResultsModel(classes, self.threshold.value(), parent=self)
        self.results.thumbnails = self
        self.results.changed.connect(self._schedule_refresh)
        self.results.rowsInserted.connect(self._index_paths)
        self.results.modelReset.connect(self._reindex_paths)
        self.grid_filter = ResultsFilter(self.results, ViewFilter(readable_only=True))
        self.table_filter = ResultsFilter(self.results)
        self.review_filter = ResultsFilter(self.results, ViewFilter(review_only=True))
        self.failed_filter = ResultsFilter(self.results, ViewFilter(failed_only=True))
        delegate = ThumbnailDelegate(self.results, self)
        for view, proxy in (
            (self.grid, self.grid_filter),
            (self.table, self.table_filter),
            (self.review_view, self.review_filter),
            (self.failed_view, self.failed_filter),
        ):
            view.setModel(proxy)
            view.selectionModel().currentChanged.connect(self._current_changed)
        for view in (self.grid, self.review_view):
            view.setItemDelegate(delegate)
        for proxy in (self.grid_filter, self.review_filter):
            proxy.setSortRole(GROUP_ROLE)
            proxy.setDynamicSortFilter(True)
            proxy.sort(0, Qt.SortOrder.AscendingOrder)
        self.failed_view.setColumnHidden(1, True)
        for column in range(2, self.results.columnCount() - 1):
            self.failed_view.setColumnHidden(column, True)
        self._rebuild_review_menu(classes)
        self._path_rows.clear()
        self._refresh_summary()

    def show_model_info(self) -> None:
        if self.loaded is None:
            self.report_error("No model", "No model is loaded yet.")
            return
        ModelInfoDialog(self.loaded.classifier.info, self.loaded.path, self.loaded.sha256, self).open()

    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load model", self._folder("models"), "BloodCell models (*.safetensors);;All files (*)"
        )
        if path:
            self._remember_folder("models", Path(path).parent)
            self.load_model(Path(path))

    def open_training_wizard(self):
        from bloodcell_gui.wizard.training_wizard import TrainingWizard

        wizard = TrainingWizard(self.settings, parent=self)
        wizard.modelSaved.connect(lambda path, use_now: self.load_model(Path(path)) if use_now else None)
        wizard.open()
        return wizard

    # ----------------------------------------------------------------- input
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.classify(paths)

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Open images",
            self._folder("images"),
            "Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff);;All files (*)",
        )
        if files:
            self._remember_folder("images", Path(files[0]).parent)
            self.classify([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self._folder("images"))
        if folder:
            self._remember_folder("images", Path(folder).parent)
            self.classify([Path(folder)])

    # ----------------------------------------------------------------- classification
    def classify(self, paths: list[Path]) -> None:
        """Queue files and folders; they are classified as soon as a model is loaded."""
        self.queue.extend(paths)
        self.center_stack.setCurrentIndex(1)
        self._start_next()

    def is_busy(self) -> bool:
        return self.classify_worker is not None or bool(self.queue)

    def _start_next(self) -> None:
        if self.classify_worker is not None or not self.queue or self.loaded is None:
            return
        inputs, self.queue = self.queue, []
        worker = Worker(classify_inputs, self.loaded.classifier, inputs, parent=self)
        worker.progress.connect(self._batch_classified)
        worker.failed.connect(lambda message: self.report_error("Classification stopped", message))
        worker.finished.connect(self._classification_done)
        self._job_base = self.results.rowCount() if self.results else 0
        self._job_total = 0
        self._started = time.monotonic()
        self.progress.setRange(0, 0)
        for widget in (self.progress, self.progress_label, self.cancel_button):
            widget.show()
        self.progress_label.setText("Finding images…")
        self.classify_worker = worker.start()

    def _batch_classified(self, batch: ClassifiedBatch) -> None:
        if self.results is None:
            return
        self.results.add_results(batch.results)
        self.progress.setRange(0, max(1, batch.total))
        self.progress.setValue(batch.done)
        rate = batch.done / batch.elapsed if batch.elapsed > 0 else 0.0
        eta = (batch.total - batch.done) / rate if rate > 0 else float("nan")
        queued = f" (+{len(self.queue)} queued)" if self.queue else ""
        self.progress_label.setText(
            f"{batch.done} / {batch.total} images · {rate:.0f}/s · {format_seconds(eta)} left{queued}"
        )

    def _classification_done(self) -> None:
        self.classify_worker = None
        if self.queue:
            self._start_next()
            return
        for widget in (self.progress, self.cancel_button):
            widget.hide()
        done = (self.results.rowCount() if self.results else 0) - self._job_base
        self.progress_label.setText(f"Done: {done} files in {time.monotonic() - self._started:.1f} s")
        self._refresh_summary()
        self.classificationFinished.emit()

    def cancel_classification(self) -> None:
        """Stop after the current batch; what was classified stays, the queue is dropped."""
        self.queue.clear()
        if self.classify_worker is not None:
            self.classify_worker.cancel()

    # ----------------------------------------------------------------- views
    def pixmap(self, row: int):
        """Thumbnail for a row (ResultsModel asks); None until it has been made."""
        path = self.results.row(row).path
        return self.thumbnails.pixmap(path, path)

    def _index_paths(self, parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            self._path_rows.setdefault(self.results.row(row).path, []).append(row)

    def _reindex_paths(self) -> None:
        self._path_rows.clear()
        self.thumbnails.clear()
        if self.results is not None and self.results.rowCount():
            self._index_paths(QModelIndex(), 0, self.results.rowCount() - 1)

    def _thumbnail_ready(self, path: Path) -> None:
        for row in self._path_rows.get(path, []):
            self.results.refresh_row(row)

    def _large_image_ready(self, path: Path) -> None:
        current = self.current_row()
        if current is not None and self.results.row(current).path == path:
            self.detail.set_pixmap(self.large_images.pixmap(path, path))

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

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self.results is None or not current.isValid():
            return
        row_index = current.model().mapToSource(current).row()
        self._show_detail(row_index)

    def _show_detail(self, row_index: int) -> None:
        row = self.results.row(row_index)
        classes = self.results.classes
        if row.ok:
            parts = [f"Predicted <b>{classes[row.predicted]}</b> ({row.confidence:.1%})"]
            if row.verified is not None:
                parts.append(f"technician: <b>{classes[row.verified]}</b>")
            if row.truth is not None:
                parts.append(f"folder: {classes[row.truth]}")
            verdict = " · ".join(parts) + ("" if not row.reviewed else " · reviewed")
        else:
            verdict = f"<span style='color:#b3261e'>Unreadable: {row.error}</span>"
        self.detail.show_row(classes, row, verdict)
        self.detail.set_pixmap(self.large_images.pixmap(row.path, row.path) if row.ok else None)

    def _context_menu(self, position) -> None:
        if self.results is None or not self.selected_rows():
            return
        menu = QMenu(self)
        reclassify = menu.addMenu("Reclassify as")
        for action in self.class_actions.actions():
            reclassify.addAction(action)
        menu.addAction(self.mark_reviewed_action)
        menu.addAction(self.clear_verified_action)
        menu.popup(self.current_view().viewport().mapToGlobal(position))

    def _reclassify_rows(self, rows: list[int], class_index: int | None) -> None:
        if self.results is None or not rows:
            return
        self.results.set_verified(rows, class_index)
        current = self.current_row()
        if current is not None:
            self._show_detail(current)

    def _mark_selected_reviewed(self, reviewed: bool) -> None:
        if self.results is not None:
            self.results.set_reviewed(self.selected_rows(), reviewed)

    def _threshold_changed(self, value: float) -> None:
        if self.results is not None:
            self.results.set_threshold(value)
            self.review_filter.refilter()

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
        self.filter_label.setText(f"Showing only: <b>{description}</b>")
        self.filter_bar.setVisible(bool(description))

    def _schedule_refresh(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh_summary(self) -> None:
        if self.results is None:
            return
        session = self.results.session
        self.differential.set_counts(session.classes, session.counts())
        failed = len(session.failed)
        reviewed = sum(r.reviewed for r in session.rows)
        self.totals.setText(
            f"{session.classified} classified · {session.review_count} to review · "
            f"{reviewed} reviewed · {failed} unreadable"
        )
        self.tabs.setTabText(2, f"Review ({session.review_count})")
        self.tabs.setTabText(3, f"Unreadable ({failed})")
        evaluation = session.evaluation()
        if evaluation is None:
            self.heatmap.clear()
            self.accuracy.setText("Drop a folder with class subfolders (EOSINOPHIL/, …) to compare with ground truth.")
        else:
            self.heatmap.set_data(session.classes, evaluation.confusion.tolist())
            self.accuracy.setText(
                f"Accuracy <b>{evaluation.accuracy:.1%}</b> on {evaluation.total} images with a class folder. "
                "Click a cell to see its images."
            )

    # ----------------------------------------------------------------- export
    def _model_identity(self) -> tuple[str, str]:
        if self.loaded is None:
            return "", ""
        return self.loaded.classifier.info.name, self.loaded.sha256

    def export_csv(self, path: Path) -> bool:
        name, sha256 = self._model_identity()
        return self._export(path, lambda: self.results.session.write_csv(path, model_name=name, model_sha256=sha256))

    def export_pdf(self, path: Path) -> bool:
        from bloodcell_gui.report import write_pdf

        return self._export(path, lambda: write_pdf(path, self.results.session, *self._model_identity()))

    def _export(self, path: Path, write) -> bool:
        """Run an (atomic) export; a failure is reported and leaves any earlier file as it was."""
        if self.results is None:
            return False
        try:
            write()
        except OSError as error:
            self.report_error("Export failed", f"{path}: {error.strerror or error}\nNothing was overwritten.")
            return False
        self.statusBar().showMessage(f"Wrote {path}", 5000)
        return True

    def export_csv_dialog(self) -> None:
        self._export_dialog("Export CSV", "results.csv", "CSV (*.csv)", self.export_csv)

    def export_pdf_dialog(self) -> None:
        self._export_dialog("Export PDF report", "report.pdf", "PDF (*.pdf)", self.export_pdf)

    def _export_dialog(self, title: str, name: str, pattern: str, export) -> None:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(self._folder("exports")) / name), pattern)
        if path:
            self._remember_folder("exports", Path(path).parent)
            export(Path(path))

    def clear_results(self) -> None:
        if self.results is not None and not self.is_busy():
            self.results.clear()
            self.detail.show_row([], None)
            self.center_stack.setCurrentIndex(0)

    # ----------------------------------------------------------------- errors and closing
    def report_error(self, title: str, text: str) -> None:
        """A window-modal message that does not block the event loop."""
        self.last_error = text
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_settings()
        self.cancel_classification()
        Worker.stop_all()
        self.thumbnails.clear()
        self.thumbnails.wait()
        self.large_images.clear()
        self.large_images.wait()
        super().closeEvent(event)
