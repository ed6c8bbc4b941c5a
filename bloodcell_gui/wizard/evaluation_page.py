"""Wizard page 5: how the new model does on validation and test data, and what it gets wrong."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from bloodcell_gui.heatmap import ConfusionHeatmap
from bloodcell_gui.thumbnails import load_qimage
from bloodcell_gui.wizard.tasks import EvaluationResult, evaluate
from bloodcell_gui.workers import Worker


class EvaluationPage(QWizardPage):
    def __init__(self, data_page, training_page, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Evaluation")
        self.setSubTitle("Rows are the true classes, columns the model's answers.")
        self.data_page = data_page
        self.training_page = training_page
        self.worker: Worker | None = None
        self.result: EvaluationResult | None = None
        self.valid_heatmap = ConfusionHeatmap()
        self.test_heatmap = ConfusionHeatmap()
        self.heatmaps = QTabWidget()
        self.heatmaps.addTab(self.valid_heatmap, "Validation")
        self.heatmaps.addTab(self.test_heatmap, "Test")
        self.metrics = QTableWidget(0, 5)
        self.metrics.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Images"])
        self.metrics.verticalHeader().hide()
        self.caution = QLabel()
        self.caution.setWordWrap(True)
        self.caution.setStyleSheet("color: #9a6700")
        self.summary = QLabel("Evaluating…")
        self.summary.setWordWrap(True)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(128, 96))
        self.gallery.setGridSize(QSize(150, 140))
        self.gallery.setWordWrap(True)
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        left = QVBoxLayout()
        left.addWidget(self.summary)
        left.addWidget(self.heatmaps, 1)
        left.addWidget(self.metrics)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Highest-loss validation images</b> (most confidently wrong first)"))
        right.addWidget(self.gallery, 1)
        right.addWidget(self.caution)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)

    def initializePage(self) -> None:
        self.result = None
        self.summary.setText("Evaluating on the validation set" + (" and the test folder…" if self._test() else "…"))
        worker = Worker(evaluate, self.training_page.trained, self._test(), parent=self)
        worker.progress.connect(self._progress)
        worker.succeeded.connect(self._show)
        worker.failed.connect(lambda message: self.summary.setText(f"Evaluation failed: {message}"))
        worker.finished.connect(self._done)
        self.worker = worker.start()
        self.completeChanged.emit()

    def _test(self):
        return self.data_page.folder(self.data_page.test_edit)

    def _progress(self, event) -> None:
        self.summary.setText(f"Evaluated; now {event.what}: {event.done} of {event.total}…")

    def _done(self) -> None:
        self.worker = None
        self.completeChanged.emit()

    def _show(self, result: EvaluationResult) -> None:
        self.result = result
        validation = result.validation.evaluation
        classes = validation.classes
        self.valid_heatmap.set_data(classes, validation.confusion.tolist())
        text = f"Validation accuracy <b>{validation.accuracy:.1%}</b> ({validation.total} images)"
        shown = validation
        if result.test is not None and result.test.total:
            self.test_heatmap.set_data(classes, result.test.confusion.tolist())
            text += f"; test accuracy <b>{result.test.accuracy:.1%}</b> ({result.test.total} images)"
            shown = result.test
            self.heatmaps.setCurrentWidget(self.test_heatmap)
        else:
            self.heatmaps.setTabEnabled(1, False)
        self.summary.setText(
            text
            + ". Per-class figures below are for the "
            + ("test folder." if shown is result.test else "validation set.")
        )
        per_class = shown.per_class()
        self.metrics.setRowCount(len(per_class))
        for row, (name, m) in enumerate(per_class.items()):
            values = [name, f"{m['precision']:.1%}", f"{m['recall']:.1%}", f"{m['f1']:.3f}", str(m["support"])]
            for column, value in enumerate(values):
                self.metrics.setItem(row, column, QTableWidgetItem(value))
        self.metrics.resizeColumnsToContents()
        self.gallery.clear()
        for loss in result.validation.top_losses:
            image = load_qimage(loss.path, QSize(128, 96))
            icon = QIcon(QPixmap.fromImage(image)) if image is not None else QIcon()
            item = QListWidgetItem(icon, f"true {loss.true}\npredicted {loss.predicted}\n({loss.probability:.0%})")
            item.setToolTip(f"{loss.path}\nloss {loss.loss:.2f}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.gallery.addItem(item)
        self.caution.setText(result.caution)

    def isComplete(self) -> bool:
        return self.result is not None

    def cleanupPage(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
