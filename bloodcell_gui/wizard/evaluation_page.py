"""Wizard page 5: how the new model does on validation and test data, and what it gets wrong."""

from __future__ import annotations

import html

import numpy as np
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

from bloodcell_gui.charts import ScoreHistogram
from bloodcell_gui.heatmap import ConfusionHeatmap
from bloodcell_gui.style import THUMBNAIL_SIZE, WARNING_COLOR, message_label
from bloodcell_gui.thumbnails import load_qimage
from bloodcell_gui.workers import TaskRunner, describe_error
from model.evaluation.evaluate import PER_CLASS_HEADER, per_class_rows
from model.training.run import RunEvaluation, TrainingRun


class EvaluationPage(QWizardPage):
    def __init__(self, run: TrainingRun, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Evaluation")
        self.setSubTitle("Rows are the true classes, columns the model's answers.")
        self.run = run
        self.runner = TaskRunner(self)
        self.valid_heatmap = ConfusionHeatmap()
        self.test_heatmap = ConfusionHeatmap()
        self.heatmaps = QTabWidget()
        self.heatmaps.addTab(self.valid_heatmap, "Validation")
        self.heatmaps.addTab(self.test_heatmap, "Test folder")
        self.scores = ScoreHistogram()
        self.heatmaps.addTab(self.scores, "Unfamiliarity")
        self.heatmaps.currentChanged.connect(self._show_per_class)
        self.metrics = QTableWidget(0, len(PER_CLASS_HEADER))
        self.metrics.setHorizontalHeaderLabels(PER_CLASS_HEADER)
        self.metrics.verticalHeader().hide()
        self.caution = message_label(WARNING_COLOR)
        self.summary = QLabel("Evaluating…")
        self.summary.setWordWrap(True)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(THUMBNAIL_SIZE)
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

    @property
    def result(self) -> RunEvaluation | None:
        return self.run.evaluation

    def initializePage(self) -> None:
        self.run.evaluation = None
        test = self.run.test_folder
        self.summary.setText("Evaluating on the validation set" + (" and the test folder…" if test else "…"))
        self.runner.start(
            self.run.evaluate,
            on_progress=self._progress,
            on_done=self._show,
            on_error=lambda error: self.summary.setText(f"Evaluation failed: {html.escape(describe_error(error))}"),
            on_finished=self.completeChanged.emit,
        )
        self.completeChanged.emit()

    def _progress(self, event) -> None:
        self.summary.setText(f"Evaluated; now {event.what}: {event.done} of {event.total}…")

    def _show(self, result: RunEvaluation) -> None:
        self.run.evaluation = result
        validation = result.validation.evaluation
        classes = validation.classes
        self.valid_heatmap.set_data(classes, validation.confusion.tolist())
        text = (
            f"Validation accuracy <b>{validation.accuracy:.1%}</b>, balanced {validation.balanced_accuracy:.1%}, "
            f"macro-F1 {validation.macro_f1:.3f} ({validation.total} images)"
        )
        if result.test is not None and result.test.total:
            self.test_heatmap.set_data(classes, result.test.confusion.tolist())
            folder = html.escape(result.test_folder.name if result.test_folder else "test folder")
            text += (
                f"; on {folder}: <b>{result.test.accuracy:.1%}</b>, balanced {result.test.balanced_accuracy:.1%}, "
                f"macro-F1 {result.test.macro_f1:.3f} ({result.test.total} images)"
            )
            self.heatmaps.setCurrentWidget(self.test_heatmap)
        else:
            self.heatmaps.setTabEnabled(1, False)
        text += ". The per-class table shows the set the heatmap shows."
        self.summary.setText(text + "<br>" + html.escape(unfamiliar_words(result)))
        references = result.references
        if references is None:
            self.scores.clear()
        else:
            self.scores.set_scores(
                references.calibration_scores,
                references.threshold,
                f"{len(references.calibration_scores)} validation images' scores"
                f"{STRICTEST if references.lab_by_lab else ''} ({references.pass_share:.0%} left of the line pass)",
            )
        self._show_per_class()
        self.gallery.clear()
        for loss in result.validation.top_losses:
            image = load_qimage(loss.path, THUMBNAIL_SIZE)
            icon = QIcon(QPixmap.fromImage(image)) if image is not None else QIcon()
            item = QListWidgetItem(icon, f"true {loss.true}\npredicted {loss.predicted}\n({loss.probability:.0%})")
            item.setToolTip(f"{loss.path}\nloss {loss.loss:.2f}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.gallery.addItem(item)
        self.caution.setText(result.caution)

    def _show_per_class(self) -> None:
        """The per-class table of whichever set the heatmap shows."""
        result = self.run.evaluation
        if result is None or result.validation is None:
            return
        test = result.test if result.test is not None and result.test.total else None
        on_test = test is not None and self.heatmaps.currentWidget() is self.test_heatmap
        shown = test if on_test else result.validation.evaluation
        rows = per_class_rows(shown.per_class())
        self.metrics.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.metrics.setItem(row, column, QTableWidgetItem(value))
        self.metrics.resizeColumnsToContents()

    def isComplete(self) -> bool:
        return self.result is not None

    def cleanupPage(self) -> None:
        self.runner.discard()
        self.runner.wait()


# Calibrated lab by lab, the kept scores are at each share the highest of the labs' quantiles.
STRICTEST = ", at each share the strictest lab's"


def unfamiliar_words(result: RunEvaluation) -> str:
    """What the unfamiliar-image calibration chose, the held-out scores it chose from, and how
    many test images it flags."""
    references = result.references
    if references is None:
        return f"Unfamiliar-image check: not made ({result.calibration_problem or 'no reason given'})."
    scores = references.calibration_scores
    median, upper, top = (float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99))
    words = (
        f"Unfamiliar-image check: fitted on {references.summary.get('fitted_on')} training images; threshold "
        f"{references.threshold:.2f} passes {references.who_passes('validation images')} (their scores: median "
        f"{median:.2f}, 90th percentile {upper:.2f}, 99th {top:.2f}{STRICTEST if references.lab_by_lab else ''})."
    )
    test = result.test
    if test is not None and test.total and test.flagged is not None:
        words += f" On the test folder it flags {test.flagged} of {test.total} images ({test.flagged_share:.1%})."
    return words
