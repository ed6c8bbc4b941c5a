"""Wizard page 1: choose the data, and see what is in it before training."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from bloodcell_gui.charts import BarChart
from bloodcell_gui.style import ERROR_COLOR, WARNING_COLOR, message_label, plain_label
from bloodcell_gui.wizard.widgets import folder_row
from bloodcell_gui.workers import TaskRunner, describe_error
from model.training.checks import data_warnings
from model.training.run import ScannedData, TrainingRun


class DataPage(QWizardPage):
    def __init__(self, run: TrainingRun, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Training data")
        self.setSubTitle(
            "Choose (or drop here) a folder with one subfolder per class. A validation and a test folder are optional."
        )
        self.setAcceptDrops(True)
        self.run = run
        self.runner = TaskRunner(self)
        self.train_edit = QLineEdit()
        self.valid_edit = QLineEdit()
        self.valid_edit.setPlaceholderText("optional: otherwise a random share of the training folder")
        self.more_edit = QLineEdit()
        self.more_edit.setPlaceholderText("optional: other labs' folders with the same class folders, separated by ;")
        self.test_edit = QLineEdit()
        self.test_edit.setPlaceholderText("optional: evaluated after training, recorded in the model")
        self._scanned_folders: tuple[Path | None, Path | None] | None = None
        for edit in (self.train_edit, self.more_edit, self.valid_edit):
            edit.editingFinished.connect(self._folders_edited)
        self.test_edit.editingFinished.connect(self._test_edited)
        form = QFormLayout()
        form.addRow("Training folder", folder_row(self.train_edit, lambda: self._browse(self.train_edit)))
        form.addRow("Other labs' folders", folder_row(self.more_edit, self._browse_more))
        form.addRow("Validation folder", folder_row(self.valid_edit, lambda: self._browse(self.valid_edit)))
        form.addRow("Test folder", folder_row(self.test_edit, lambda: self._browse(self.test_edit)))
        self.chart = BarChart()
        self.progress = QProgressBar()
        self.progress.hide()
        self.summary = plain_label()
        self.problems = message_label(ERROR_COLOR)
        self.warnings = message_label(WARNING_COLOR)
        self.bad_files = QListWidget()
        self.bad_files.setMaximumHeight(110)
        self.bad_label = plain_label()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.problems)
        layout.addWidget(self.warnings)
        layout.addWidget(self.bad_label)
        layout.addWidget(self.bad_files)

    # -- input
    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)
            edit.editingFinished.emit()

    def _browse_more(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Another lab's folder", str(Path.home()))
        if folder:
            self.more_edit.setText("; ".join([*map(str, self.more_folders()), folder]))
            self.more_edit.editingFinished.emit()

    def more_folders(self) -> list[Path]:
        return [Path(part.strip()) for part in self.more_edit.text().split(";") if part.strip()]

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        folders = [Path(u.toLocalFile()) for u in event.mimeData().urls() if Path(u.toLocalFile()).is_dir()]
        if folders:
            self.set_folders(folders[0])
            event.acceptProposedAction()

    def set_folders(
        self, train: Path, valid: Path | None = None, test: Path | None = None, more: list[Path] = ()
    ) -> None:
        self.train_edit.setText(str(train))
        self.more_edit.setText("; ".join(map(str, more)))
        self.valid_edit.setText(str(valid) if valid else "")
        self.test_edit.setText(str(test) if test else "")
        self._test_edited()
        self.rescan()

    def folder(self, edit: QLineEdit) -> Path | None:
        text = edit.text().strip()
        return Path(text) if text else None

    def _test_edited(self) -> None:
        self.run.test_folder = self.folder(self.test_edit)
        self.completeChanged.emit()

    # -- scanning
    def _folders_edited(self) -> None:
        """Focus leaving an unchanged field also 'finishes editing': rescan only on a change."""
        if self._folders() != self._scanned_folders:
            self.rescan()

    def _folders(self) -> tuple:
        return (self.folder(self.train_edit), self.folder(self.valid_edit), *self.more_folders())

    def rescan(self) -> None:
        train, valid, more = self.folder(self.train_edit), self.folder(self.valid_edit), self.more_folders()
        self._scanned_folders = self._folders()
        self.runner.discard()
        self.run.scanned = None
        self.completeChanged.emit()
        self.problems.clear()
        self.warnings.clear()
        if train is None:
            return
        missing = [str(p) for p in (train, valid, *more) if p is not None and not p.is_dir()]
        if missing:
            self.problems.setText(f"Not a folder: {', '.join(missing)}")
            return
        if more and valid is not None:
            self.problems.setText("With other labs' folders, validation is drawn from each: leave Validation empty.")
            return
        self.run.config = replace(self.run.config, data=train, valid=valid, more_data=tuple(more))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.summary.setText("Checking every image…")
        self.runner.start(
            self.run.scan,
            on_progress=self._scan_progress,
            on_done=self._scanned,
            on_error=self._scan_failed,
            on_finished=self.progress.hide,
        )

    def _scan_progress(self, event) -> None:
        self.progress.setRange(0, event.total)
        self.progress.setValue(event.done)
        self.summary.setText(f"Checking the {event.what}: {event.done} / {event.total} images")

    def _scan_failed(self, error: Exception) -> None:
        self.summary.clear()
        self.problems.setText(describe_error(error))

    def _scanned(self, scanned: ScannedData) -> None:
        train = scanned.train
        counts = train.counts
        self.chart.set_values(list(counts), list(counts.values()))
        sizes = ", ".join(f"{size} ({n})" for size, n in list(train.summary()["image_sizes"].items())[:4])
        self.summary.setText(
            f"{sum(counts.values())} usable images in {len(counts)} classes. Image sizes: {sizes or 'none'}."
            + (f" Validation folder: {sum(scanned.valid.counts.values())} images." if scanned.valid else "")
            + "".join(f" {scan.root.name}: {sum(scan.counts.values())} images." for scan in scanned.more)
        )
        problems = scanned.problems()
        self.problems.setText("Cannot train: " + "; ".join(problems) if problems else "")
        self.warnings.setText("\n".join(data_warnings(counts)))
        bad = train.bad_files + (scanned.valid.bad_files if scanned.valid else [])
        bad += [item for scan in scanned.more for item in scan.bad_files]
        self.bad_files.clear()
        for item in bad:
            self.bad_files.addItem(f"{item.path} — {item.reason}")
        self.bad_label.setText(f"{len(bad)} unreadable file(s), left out:" if bad else "No unreadable files.")
        self.run.scanned = None if problems else scanned
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        test = self.folder(self.test_edit)
        return self.run.scanned is not None and (test is None or test.is_dir())

    def cleanupPage(self) -> None:
        self.runner.discard()
