"""Model › Verified cells…, Adapt to this lab… and Match this lab's images…: the cells
technicians decided on, kept across sessions (model.review.verified), fine-tuning the model on them
(model.adaptation.finetune), and its normalisation measured on the session's images
(model.adaptation.lab_statistics)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from bloodcell_gui.timers import make_timer
from model.common.editions import WHERE_TO_TRAIN
from model.review.verified import VERIFIED, VerifiedStore, VerifiedStoreError

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


class VerifiedController(QObject):
    """The verified cells of `window` (its `results`, `loaded`, `report_error` and `load_model`),
    kept in the user's data folder that `sessions` owns, written on its background writer."""

    def __init__(self, window, store, sessions) -> None:
        super().__init__(window)
        self.window, self.store, self.sessions = window, store, sessions
        self.verified = VerifiedStore(None)
        # Decisions come a key press apart: the file is written once they pause, as autosave is.
        self._timer = make_timer(self, 200, single_shot=True)
        self._timer.timeout.connect(self.save_verified)
        sessions.written.connect(self._written)

    def open_store(self) -> None:
        """The store beside the autosaved session (the same folder, set or default); kept in
        memory only when there is no usable folder (said once at start)."""
        path = self.sessions.autosave_path()
        self.verified, problem = open_store(path.parent) if path is not None else (VerifiedStore(None), "")
        if problem:
            self.window.report_error("The list of verified cells could not be read", problem)

    def remember_decisions(self, rows: list[int]) -> None:
        """Keep what the technician just decided (or forget what they undid) in the store."""
        results = self.window.results
        if results is None:
            return
        session = results.session
        changed = False
        for index in rows:
            if 0 <= index < len(session.rows):
                row, sample = session.rows[index], session.sample.sample_id
                changed = self.verified.record(row, session.classes, session.reviewer, sample) or changed
        if changed:
            self._timer.start()

    def save_verified(self) -> None:
        """Write the store on the background writer (a snapshot now, the file off this thread)."""
        self._timer.stop()
        self.verified.save_in_background(self.sessions.writer)

    def _written(self, outcome) -> None:
        if outcome.purpose == VERIFIED and outcome.error is not None:
            self.window.report_error(
                "Verified cells not saved",
                f"{outcome.path}: {outcome.error}\nThe decisions themselves are kept in the session.",
            )

    def flush(self) -> None:
        """A pending write is done at once (the window is closing)."""
        if self._timer.isActive():
            self.save_verified()

    def show_verified_cells(self):
        from bloodcell_gui.verified_dialog import VerifiedCellsDialog

        loaded = self.window.loaded
        classes = loaded.classifier.classes if loaded is not None else []
        dialog = VerifiedCellsDialog(self.verified, classes, self.store, parent=self.window)
        dialog.open()
        return dialog

    def explain_where_to_train(self) -> QMessageBox:
        box = QMessageBox(
            QMessageBox.Icon.Information, "Training is done elsewhere", WHERE_TO_TRAIN, parent=self.window
        )
        box.open()
        return box

    def open_adapt_dialog(self):
        from bloodcell_gui.adapt_dialog import AdaptDialog

        if self.window.loaded is None:
            self.window.report_error("No model", "Load a model first: it is the one adapted.")
            return None
        return self._opened(AdaptDialog(self.verified, self.window.loaded, self.store, parent=self.window))

    def open_match_lab_dialog(self):
        from bloodcell_gui.match_lab_dialog import MatchLabDialog

        window = self.window
        if window.loaded is None:
            window.report_error("No model", "Load a model first: it is the one matched to this lab.")
            return None
        paths = [row.path for row in window.results.session.rows if row.error is None] if window.results else []
        return self._opened(MatchLabDialog(paths, window.loaded, self.store, parent=window))

    def _opened(self, dialog):
        """A dialog that makes a model from the one in use, shown; the window loads what it saves
        when the technician asks to use it now."""
        dialog.modelSaved.connect(lambda path, use_now: self.window.load_model(Path(path)) if use_now else None)
        dialog.open()
        return dialog
