"""The main window's widgets and how they are arranged: the differential and ground-truth
panels on the left, the result views in the middle, the selected image on the right; its
status bar and menus."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from bloodcell_gui.detail import DetailPanel
from bloodcell_gui.differential import DifferentialView
from bloodcell_gui.eliding_label import ElidingLabel
from bloodcell_gui.heatmap import ConfusionHeatmap
from bloodcell_gui.results_model import GROUP_ROLE, ResultsFilter, ViewFilter
from bloodcell_gui.screens import fit_to_screen, shrink_to_screen
from bloodcell_gui.style import plain_label
from bloodcell_gui.thumbnail_view import ThumbnailDelegate, configure_thumbnail_view
from model.common.editions import training_available

NO_TRUTH_YET = "Drop a folder with class subfolders (EOSINOPHIL/, …) to compare with ground truth."
DROP_HINT = (
    "<div style='font-size:18pt;color:#555'>Drop images or folders here</div>"
    "<div style='color:#777'>or use File › Open files… / Open folder…<br><br>"
    "A folder with subfolders named after the classes is compared with that ground truth.</div>"
)


class MainLayout:
    """Builds the widgets, status bar and menus of a QMainWindow that provides the slots they
    connect to (filters, reclassification, exports, model loading, ...)."""

    def build_layout(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._build_summary())
        left_layout.addWidget(self._build_truth(), 1)

        self.center_stack = QStackedWidget()
        drop_hint = QLabel(DROP_HINT)
        drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        drop_hint.setObjectName("dropHint")
        drop_hint.setWordWrap(True)
        self.center_stack.addWidget(drop_hint)
        self.center_stack.addWidget(self._build_results_page())

        # On a short screen the differential, a new-lab hint and the heatmap together can be taller
        # than the window: the column scrolls rather than squeezing the differential's rows away.
        left_scroll = QScrollArea()
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.detail = DetailPanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left_scroll)
        self.splitter.addWidget(self.center_stack)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([420, 700, 320])
        self.setCentralWidget(self.splitter)

    def arrange_table_columns(self, n_classes: int) -> None:
        """What a technician reads first comes first and fits: the file, the class, the
        confidence, their own class, the folder's, the status; then a narrow column per class."""
        header = self.table.horizontalHeader()
        keys = self.table.model().sourceModel().keys()
        verified, truth, status = (keys.index(key) for key in ("verified", "true_class", "status"))
        for position, logical in enumerate((verified, truth, status), start=3):
            header.moveSection(header.visualIndex(logical), position)
        metrics = self.table.fontMetrics()
        widths = {0: 24 * metrics.averageCharWidth(), 1: metrics.horizontalAdvance("NEUTROPHIL__")}
        for column in range(self.table.model().columnCount()):
            self.table.setColumnWidth(column, widths.get(column, metrics.horizontalAdvance("MONOCYTE__")))
        self.failed_view.setColumnWidth(0, widths[0])
        self.failed_view.horizontalHeader().setStretchLastSection(True)  # the reason, in full width
        self.failed_view.setWordWrap(True)

    def _build_summary(self) -> QGroupBox:
        self.differential = DifferentialView()
        self.differential.classClicked.connect(self.summary.filter_class)
        self.differential.reclassifyRequested.connect(self.review.reclassify_rows)
        self.totals = QLabel("No images yet")
        self.totals.setWordWrap(True)
        # Shown when many of the session's images are unfamiliar to the model (model.unfamiliar.statistics.
        # another_lab): the likeliest cause is a lab the model does not know, and the cheapest
        # cure, matching it to the lab's images, is one click away.
        self.lab_hint = QLabel()
        self.lab_hint.setWordWrap(True)
        self.lab_hint.setTextFormat(Qt.TextFormat.RichText)
        self.lab_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.lab_hint.linkActivated.connect(self.summary.lab_hint_link)
        self.lab_hint.hide()
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setToolTip("Images whose confidence is below this go to the Review tab")
        # Changing it is deliberate: it takes the keyboard only when clicked (never from Tab or
        # a button that disappears), and applies a typed value when editing ends.
        self.threshold.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.threshold.setKeyboardTracking(False)
        self.threshold.valueChanged.connect(self._threshold_changed)
        box = QGroupBox("Differential")
        self.differential_box = box
        layout = QVBoxLayout(box)
        layout.addWidget(self.differential)
        layout.addWidget(self.totals)
        layout.addWidget(self.lab_hint)
        self.familiar_share = QDoubleSpinBox()
        self.familiar_share.setRange(80.0, 99.9)
        self.familiar_share.setSingleStep(0.5)
        self.familiar_share.setDecimals(1)
        self.familiar_share.setSuffix(" %")
        self.familiar_share.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.familiar_share.setKeyboardTracking(False)
        self.familiar_share.valueChanged.connect(self.models.familiar_share_changed)
        form = QFormLayout()
        form.addRow("Review below confidence", self.threshold)
        form.addRow("Familiar images passed", self.familiar_share)
        layout.addLayout(form)
        return box

    def _build_truth(self) -> QGroupBox:
        self.heatmap = ConfusionHeatmap()
        self.heatmap.cellClicked.connect(self.summary.filter_cell)
        self.accuracy = QLabel(NO_TRUTH_YET)
        self.accuracy.setWordWrap(True)
        box = QGroupBox("Ground truth")
        layout = QVBoxLayout(box)
        layout.addWidget(self.accuracy)
        layout.addWidget(self.heatmap, 1)
        return box

    def _build_results_page(self) -> QWidget:
        # What a filter shows can be long ("true EOSINOPHIL, predicted NEUTROPHIL (1 images)"): it
        # must not widen the middle column past a 1024-pixel screen.
        self.filter_label = ElidingLabel()
        self.show_all = QPushButton("Show all")
        self.show_all.clicked.connect(lambda: self.summary.apply_filter(ViewFilter()))
        self.filter_bar = QWidget()
        filter_layout = QHBoxLayout(self.filter_bar)
        filter_layout.setContentsMargins(4, 0, 4, 0)
        filter_layout.addWidget(self.filter_label, 1)
        filter_layout.addWidget(self.show_all)
        self.filter_bar.hide()

        self.grid = QListView()
        self.table = QTableView()
        self.review_view = QListView()
        self.unidentified_view = QListView()
        self.failed_view = QTableView()
        for view in (self.grid, self.review_view, self.unidentified_view):
            configure_thumbnail_view(view)
        for view in (self.table, self.failed_view):
            view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            view.setSortingEnabled(True)
            view.setAlternatingRowColors(True)
            view.verticalHeader().setDefaultSectionSize(22)
            view.verticalHeader().hide()
        self.table.setDragEnabled(True)
        for view in (self.grid, self.table, self.review_view, self.unidentified_view):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(self.review.context_menu)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.grid, "Thumbnails")
        self.tabs.addTab(self.table, "Table")
        self.tabs.addTab(self.review_view, "Review")
        self.tabs.addTab(self.unidentified_view, "Unidentified")
        self.tabs.setTabToolTip(
            self.tabs.indexOf(self.unidentified_view),
            "Images the model does not recognise as the white cells it was trained on: give each a class "
            "(keys 1-4); until then they are not counted in the differential",
        )
        self.tabs.addTab(self.failed_view, "Unreadable")

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.tabs, 1)
        return page

    def build_status_bar(self) -> None:
        # Long names must not set the window's smallest width: they end in "…" (full text on hover).
        self.model_label = ElidingLabel("Loading model…", minimum_width=120)
        self.device_label = plain_label()
        self.device_label.setWordWrap(False)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress_label = plain_label()
        self.progress_label.setWordWrap(False)
        self.progress_label.setMinimumWidth(120)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_classification)
        for widget in (self.progress, self.progress_label, self.cancel_button):
            widget.hide()
        status = self.statusBar()
        status.addWidget(self.model_label, 1)
        status.addWidget(self.device_label)
        status.addPermanentWidget(self.progress_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)

    def build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_files_action = file_menu.addAction("Open files…", QKeySequence.StandardKey.Open)
        self.open_files_action.triggered.connect(self.inputs.open_files_dialog)
        file_menu.addAction("Open folder…", QKeySequence("Ctrl+Shift+O")).triggered.connect(
            self.inputs.open_folder_dialog
        )
        file_menu.addSeparator()
        self.export_csv_action = file_menu.addAction("Export CSV…", QKeySequence("Ctrl+E"))
        self.export_csv_action.triggered.connect(self.exports.export_csv_dialog)
        self.export_pdf_action = file_menu.addAction("Export PDF report…", QKeySequence.StandardKey.Print)
        self.export_pdf_action.triggered.connect(self.exports.export_pdf_dialog)
        file_menu.addSeparator()
        file_menu.addAction("Clear results").triggered.connect(self.clear_results)
        file_menu.addAction("Quit", QKeySequence.StandardKey.Quit).triggered.connect(self.close)
        self.sessions.build_menus(file_menu, self.menuBar())

        model_menu = self.menuBar().addMenu("&Model")
        model_menu.addAction("Load model…").triggered.connect(self.models.load_dialog)
        self.recent_menu = model_menu.addMenu("Recent models")
        model_menu.addAction("Model information…").triggered.connect(self.models.show_info)
        model_menu.addSeparator()
        can_train = training_available()
        if can_train:
            self.train_action = model_menu.addAction("Train model…")
            self.train_action.triggered.connect(self.models.open_training_wizard)
        model_menu.addAction("Verified cells…").triggered.connect(self.verified_cells.show_verified_cells)
        if can_train:
            self.adapt_action = model_menu.addAction("Adapt to this lab…")
            self.adapt_action.triggered.connect(self.verified_cells.open_adapt_dialog)
            self.match_lab_action = model_menu.addAction("Match this lab's images…")
            self.match_lab_action.triggered.connect(self.verified_cells.open_match_lab_dialog)
        else:  # BloodCell Review: say where training happens instead of offering what cannot run
            model_menu.addAction("Train or adapt a model…").triggered.connect(
                self.verified_cells.explain_where_to_train
            )

        self.review_menu = self.menuBar().addMenu("&Review")
        self.class_actions = QActionGroup(self)
        self.mark_reviewed_action = QAction("Mark reviewed", self)
        self.mark_reviewed_action.setShortcut(QKeySequence("R"))
        self.mark_reviewed_action.triggered.connect(lambda: self.review.mark_selected_reviewed(True))
        self.clear_verified_action = QAction("Clear my class", self)
        self.clear_verified_action.setShortcut(QKeySequence("0"))
        self.clear_verified_action.triggered.connect(lambda: self.review.reclassify_rows(self.selected_rows(), None))
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
            action.triggered.connect(
                lambda checked=False, index=i: self.review.reclassify_rows(self.selected_rows(), index)
            )
            self.class_actions.addAction(action)
            self.addAction(action)
            self.review_menu.addAction(action)
        self.review_menu.addSeparator()
        self.review_menu.addAction(self.mark_reviewed_action)
        self.review_menu.addAction(self.clear_verified_action)

    def attach_results(self, results, on_current) -> None:
        """Show `results` in every view through its own filter; `on_current` hears each view's
        current row."""
        self.grid_filter = ResultsFilter(results, ViewFilter(readable_only=True))
        self.table_filter = ResultsFilter(results)
        self.review_filter = ResultsFilter(results, ViewFilter(review_only=True))
        self.unidentified_filter = ResultsFilter(results, ViewFilter(unidentified_only=True))
        self.failed_filter = ResultsFilter(results, ViewFilter(failed_only=True))
        delegate = ThumbnailDelegate(results, self)
        for view, proxy in (
            (self.grid, self.grid_filter),
            (self.table, self.table_filter),
            (self.review_view, self.review_filter),
            (self.unidentified_view, self.unidentified_filter),
            (self.failed_view, self.failed_filter),
        ):
            view.setModel(proxy)
            view.selectionModel().currentChanged.connect(on_current)
        for view in (self.grid, self.review_view, self.unidentified_view):
            view.setItemDelegate(delegate)
        for proxy in (self.grid_filter, self.review_filter, self.unidentified_filter):
            proxy.setSortRole(GROUP_ROLE)
            proxy.sort(0, Qt.SortOrder.AscendingOrder)
        for proxy in (
            self.grid_filter,
            self.table_filter,
            self.review_filter,
            self.unidentified_filter,
            self.failed_filter,
        ):
            # A decision changes its rows' data; each view then re-filters those rows alone (a
            # whole-list refilter costs 15 ms a key at 2,000 images).
            proxy.setDynamicSortFilter(True)
        self.failed_view.setColumnHidden(1, True)
        for column in range(2, results.columnCount() - 1):
            self.failed_view.setColumnHidden(column, True)

    def restore_layout(self) -> None:
        """The window's size and splitter as last left (fitted to this screen), and the thresholds."""
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
