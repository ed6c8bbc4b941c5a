"""Model › Verified cells…: what the store holds, per class and per image; remove, export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bloodcell_gui.screens import fit_to_screen
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.style import ERROR_COLOR, message_label, plain_label
from model.common.formatting import display_path
from model.review.verified import VerifiedStore

COLUMNS = ["Class", "File", "Sample", "Decided (UTC)", "By", "Judged with model"]


def counts_text(store: VerifiedStore, classes: list[str]) -> str:
    counts = store.counts(classes)
    listed = " · ".join(f"{name} {n}" for name, n in counts.items()) or "none yet"
    return f"{sum(counts.values())} verified cells: {listed}"


class VerifiedCellsDialog(QDialog):
    def __init__(
        self, store: VerifiedStore, classes: list[str], settings: SettingsStore, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Verified cells")
        fit_to_screen(self, 820, 480)
        self.store = store
        self.classes = classes
        self.settings = settings
        self.summary = plain_label()
        self.note = plain_label(
            "Every image you mark reviewed or reclassify is kept here, across sessions, as an example of this "
            "lab's pictures. Model › Adapt to this lab… fine-tunes the model on them."
        )
        self.error = message_label(ERROR_COLOR)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.clicked.connect(self.remove_selected)
        self.export_button = QPushButton("Export as class folders…")
        self.export_button.clicked.connect(self._export_dialog)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.note, self.summary, self.table):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addWidget(self.error)
        layout.addWidget(close)
        self.refresh()

    def refresh(self) -> None:
        self.summary.setText(counts_text(self.store, self.classes))
        entries = sorted(self.store.entries.items(), key=lambda item: (item[1].label, item[1].path))
        self.table.setRowCount(len(entries))
        for row, (key, entry) in enumerate(entries):
            values = (
                entry.label, display_path(Path(entry.path)), entry.sample_id, entry.decided_at, entry.reviewer,
                entry.model_name,
            )  # fmt: skip
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, key)  # the store's key of this entry
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.remove_button.setEnabled(bool(entries))
        self.export_button.setEnabled(bool(entries))

    def remove_selected(self) -> None:
        keys = sorted(
            {self.table.item(index.row(), 0).data(Qt.ItemDataRole.UserRole) for index in self.table.selectedIndexes()}
        )
        if not keys:
            return
        answer = QMessageBox.question(
            self,
            "Remove verified cells?",
            f"Remove {len(keys)} verified cell(s) from the list? Adapting no longer learns from them; the "
            "pictures themselves and the sessions they were decided in are kept.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        removed = self.store.remove(keys)
        try:
            self.store.save()
            self.error.clear()
        except OSError as error:
            self.error.setText(f"{self.store.path}: {error.strerror or error}; the removal is not saved.")
        self.refresh()
        self.summary.setText(f"{self.summary.text()}  (removed {removed})")

    def _export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export verified cells into", self.settings.folder("verified"))
        if folder:
            self.export_to(Path(folder))

    def export_to(self, folder: Path) -> int:
        try:
            copied = self.store.export_tree(folder)
        except OSError as error:
            self.error.setText(f"Export to {folder} failed: {error.strerror or error}")
            return 0
        self.settings.remember_folder("verified", folder)
        self.error.clear()
        self.summary.setText(f"{counts_text(self.store, self.classes)}  (copied {copied} into {folder})")
        return copied
