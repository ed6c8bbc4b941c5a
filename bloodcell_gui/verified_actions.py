"""Model › Verified cells…, Adapt to this lab… and Match this lab's images…: the cells
technicians decided on, kept across sessions (model.review.verified), fine-tuning the model on them
(model.adaptation.finetune), and its normalisation measured on the session's images
(model.adaptation.lab_statistics)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from bloodcell_gui.timers import make_timer
from model.common.editions import WHERE_TO_TRAIN
from model.review.verified import VerifiedStore, VerifiedStoreError

STORE_NAME = "verified-cells.json"


def open_store(folder: Path) -> tuple[VerifiedStore, str]:
    """The user's store, and a problem to tell them about: a damaged file is kept as it is
    (renamed aside, never overwritten) and an empty store started."""
    path = folder / STORE_NAME
    try:
        return VerifiedStore(path), ""
    except VerifiedStoreError as error:
        problem = str(error)
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    aside = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
    try:
        path.rename(aside)
        return VerifiedStore(path), f"{problem}\n\nIt was kept as {aside.name}; a new, empty list was started."
    except OSError:
        # It cannot even be moved: new decisions go to a file of their own beside it.
        fresh = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
        return VerifiedStore(fresh), f"{problem}\n\nIt was left as it is; new verified cells go to {fresh.name}."


class VerifiedActions:
    """For a main window with `results`, `loaded`, `store`, `report_error` and `load_model`."""

    def open_verified_store(self) -> None:
        """The store beside the autosaved session (the same folder, set or default); kept in
        memory only when there is no usable folder (said once at start)."""
        path = self.autosave_path()
        self.verified, problem = open_store(path.parent) if path is not None else (VerifiedStore(None), "")
        if problem:
            self.report_error("The list of verified cells could not be read", problem)
        # Decisions come a key press apart: the file is written once they pause, as autosave is.
        self._verified_timer = make_timer(self, 200, single_shot=True)
        self._verified_timer.timeout.connect(self.save_verified)

    def remember_decisions(self, rows: list[int]) -> None:
        """Keep what the technician just decided (or forget what they undid) in the store."""
        if self.results is None:
            return
        session = self.results.session
        changed = False
        for index in rows:
            if 0 <= index < len(session.rows):
                row, sample = session.rows[index], session.sample.sample_id
                changed = self.verified.record(row, session.classes, session.reviewer, sample) or changed
        if changed:
            self._verified_timer.start()

    def save_verified(self) -> None:
        """Write the store now (a pending write is done at once: the window is closing)."""
        self._verified_timer.stop()
        try:
            self.verified.save()
        except (OSError, ValueError) as error:
            self.report_error(
                "Verified cells not saved",
                f"{self.verified.path}: {error.strerror or error}\nThe decisions themselves are kept in the session.",
            )

    def flush_verified(self) -> None:
        if self._verified_timer.isActive():
            self.save_verified()

    def show_verified_cells(self):
        from bloodcell_gui.verified_dialog import VerifiedCellsDialog

        classes = self.loaded.classifier.classes if self.loaded is not None else []
        dialog = VerifiedCellsDialog(self.verified, classes, self.store, parent=self)
        dialog.open()
        return dialog

    def explain_where_to_train(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, "Training is done elsewhere", WHERE_TO_TRAIN, parent=self)
        box.open()
        return box

    def open_adapt_dialog(self):
        from bloodcell_gui.adapt_dialog import AdaptDialog

        if self.loaded is None:
            self.report_error("No model", "Load a model first: it is the one adapted.")
            return None
        return self._opened(AdaptDialog(self.verified, self.loaded, self.store, parent=self))

    def open_match_lab_dialog(self):
        from bloodcell_gui.match_lab_dialog import MatchLabDialog

        if self.loaded is None:
            self.report_error("No model", "Load a model first: it is the one matched to this lab.")
            return None
        paths = [row.path for row in self.results.session.rows if row.error is None] if self.results else []
        return self._opened(MatchLabDialog(paths, self.loaded, self.store, parent=self))

    def _opened(self, dialog):
        """A dialog that makes a model from the one in use, shown; the window loads what it saves
        when the technician asks to use it now."""
        dialog.modelSaved.connect(lambda path, use_now: self.load_model(Path(path)) if use_now else None)
        dialog.open()
        return dialog
