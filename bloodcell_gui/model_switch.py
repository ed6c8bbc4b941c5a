"""What happens to the results on screen when another model is loaded: asked, never silent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

if TYPE_CHECKING:
    from bloodcell_gui.results_model import ResultsModel
    from model.evaluation.classify_job import LoadedClassifier


def ask_about_results(parent: QWidget, loaded: LoadedClassifier, results: ResultsModel | None) -> str:
    """With results on screen, a new model either re-classifies them (in the background,
    keeping the technician's classes) or starts a new set; never relabels them silently."""
    if results is None or not results.rowCount():
        return "new"
    box = QMessageBox(QMessageBox.Icon.Question, "Results from another model", "", parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    count = results.rowCount()
    if results.classes != loaded.classifier.classes:
        box.setText(
            f"{loaded.path.name} knows other classes ({', '.join(loaded.classifier.classes)}). "
            f"Switching starts a new set; the {count} current results are cleared (export them first)."
        )
        new = box.addButton("Start a new set", QMessageBox.ButtonRole.AcceptRole)
        reclassify = None
    else:
        box.setText(
            f"The {count} images on screen were classified by another model. Classify them again with "
            f"{loaded.path.name} (your classes are kept), or start a new set?"
        )
        reclassify = box.addButton("Classify them again", QMessageBox.ButtonRole.AcceptRole)
        new = box.addButton("Start a new set", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Keep the current model", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    clicked = box.clickedButton()
    if clicked is not None and clicked is reclassify:
        return "reclassify"
    return "new" if clicked is new else "keep-old-model"
