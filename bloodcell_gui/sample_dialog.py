"""The sample's details: ID, patient reference, target count, comments (and, for a new
session, the reviewer)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QPlainTextEdit, QSpinBox, QVBoxLayout

from model.review.session import Sample


class SampleDialog(QDialog):
    """Sample ID, patient reference, target count and comments."""

    def __init__(self, sample: Sample, parent=None, *, title: str = "Sample", reviewer: str | None = None) -> None:
        super().__init__(parent)
        self.reviewer = QLineEdit(reviewer or "")
        self.setWindowTitle(title)
        self.sample_id = QLineEdit(sample.sample_id)
        self.patient = QLineEdit(sample.patient_ref)
        self.target = QSpinBox()
        self.target.setRange(1, 100_000)
        self.target.setValue(sample.target_count)
        self.comments = QPlainTextEdit(sample.comments)
        self.comments.setMaximumHeight(90)
        form = QFormLayout()
        form.addRow("Sample ID", self.sample_id)
        form.addRow("Patient reference (optional)", self.patient)
        form.addRow("Target count (cells)", self.target)
        form.addRow("Comments", self.comments)
        if reviewer is not None:  # a new session: who reviews it (remembered for this PC user)
            form.addRow("Reviewer", self.reviewer)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def sample(self) -> Sample:
        return Sample(
            self.sample_id.text().strip(),
            self.patient.text().strip(),
            self.target.value(),
            self.comments.toPlainText().strip(),
        )
