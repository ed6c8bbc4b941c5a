"""Review sessions in the window: new, open, save, autosave and recovery, reviewer, sample
details, sign-off and the audit trail. The rules live in the engine (model.review.session,
model.review.session_file); this wires them to menus and dialogs."""

from __future__ import annotations

import contextlib
import html
from pathlib import Path

from PySide6.QtCore import QLockFile, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
)

from bloodcell_gui.timers import make_timer
from bloodcell_gui.workers import describe_error
from model.common.editions import edition
from model.common.user_folders import user_folders
from model.review.audit import SAMPLE_CHANGED
from model.review.session import ReviewSession, Sample, SignOffRefused
from model.review.session_file import SUFFIX, SessionFileError, load_session, save_session

SESSION_FILTER = f"BloodCell sessions (*{SUFFIX})"
AUTOSAVE_NAME = f"autosave{SUFFIX}"


def autosave_folder() -> Path | None:
    """The user's data folder, or None when it cannot be used (said once at start)."""
    return user_folders().data


def sample_words(session: ReviewSession) -> str:
    """The session named by its sample, as a recovery question says it."""
    sample = session.sample
    if not sample.sample_id:
        return "A session without a sample ID"
    patient = f", patient {sample.patient_ref}" if sample.patient_ref else ""
    return f"The session of sample {sample.sample_id}{patient}"


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


class SessionActions:
    """Sessions of a main window that has `results`, `store`, `report_error`, `_new_results`,
    `load_session_rows` and a `menuBar()`."""

    session_path: Path | None = None
    # Changes not yet in the session file (autosave covers them after a crash), and among them
    # technician's decisions, which closing asks about (results alone can be classified again).
    unsaved = False
    unsaved_decisions = False

    def build_session_menus(self, file_menu) -> None:
        self._autosave_timer = make_timer(self, 200, single_shot=True)
        self._autosave_timer.timeout.connect(self.autosave)
        actions = [
            ("New session…", QKeySequence.StandardKey.New, self.new_session_dialog),
            ("Open session…", QKeySequence("Ctrl+Shift+L"), self.open_session_dialog),
            ("Save session", QKeySequence.StandardKey.Save, self.save_session),
            ("Save session as…", QKeySequence("Ctrl+Shift+S"), self.save_session_as),
        ]
        first = file_menu.actions()[0] if file_menu.actions() else None
        for text, keys, slot in actions:
            action = file_menu.addAction(text, keys)
            action.triggered.connect(lambda _=False, slot=slot: slot())
            if first is not None:
                file_menu.insertAction(first, action)
        if first is not None:
            file_menu.insertSeparator(first)
        menu = self.menuBar().addMenu("&Session")
        menu.addAction("Sample details…").triggered.connect(self.edit_sample)
        menu.addAction("Reviewer…").triggered.connect(lambda: self.ask_reviewer(force=True))
        menu.addAction("Lab header for reports…").triggered.connect(self.edit_lab_header)
        menu.addAction("Audit trail…").triggered.connect(self.show_audit_trail)
        menu.addSeparator()
        self.sign_action = menu.addAction("Sign session…", QKeySequence("Ctrl+Shift+G"))
        self.sign_action.triggered.connect(self.sign_session)
        menu.addAction("New version of a signed session").triggered.connect(self.new_version)

    # -- state
    @property
    def session(self) -> ReviewSession | None:
        return None if self.results is None else self.results.session

    def session_changed(self, decision: bool = True) -> None:
        """The session changed (a decision, or new results): mark unsaved and autosave shortly,
        so that a crash loses at most the last decision."""
        self.unsaved = True
        self.unsaved_decisions = self.unsaved_decisions or decision
        self._autosave_timer.start()
        self._show_session_title()

    def _show_session_title(self) -> None:
        session = self.session
        sample = session.sample.sample_id if session is not None and session.sample.sample_id else "no sample ID"
        signed = " — signed, read-only" if session is not None and session.signed else ""
        name = self.session_path.name if self.session_path else "unsaved session"
        self.setWindowTitle(f"{edition()} — {sample} ({name}){signed}{' *' if self.unsaved else ''}")

    def ask_reviewer(self, force: bool = False) -> str:
        """The reviewer's name, asked once per PC user and remembered."""
        name = self.store.reviewer()
        if force or not name:
            text, ok = QInputDialog.getText(
                self, "Reviewer", "Your name, as it should appear on signed reports:", text=name
            )
            if ok and text.strip():
                name = text.strip()
                self.store.set_reviewer(name)
        if self.session is not None and name and not self.session.signed:
            self.session.reviewer = name
        return name

    # -- files
    def new_session_dialog(self) -> None:
        if not self.confirm_discard():
            return
        dialog = SampleDialog(Sample(), self, title="New session", reviewer=self.store.reviewer())
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        if dialog.reviewer.text().strip():
            self.store.set_reviewer(dialog.reviewer.text().strip())
        self.start_session(ReviewSession(classes=self.results.classes if self.results else [], sample=dialog.sample()))

    def start_session(self, session: ReviewSession, path: Path | None = None) -> None:
        self.load_session_rows(session)
        self.session_path = path
        self.unsaved = self.unsaved_decisions = False
        if not session.signed:
            session.reviewer = self.store.reviewer() or session.reviewer
        self._show_session_title()

    def open_session_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open session", self.store.folder("sessions"), SESSION_FILTER)
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path) -> bool:
        try:
            session = load_session(path)
        except SessionFileError as error:
            self.report_error("Could not open the session", f"{error}\n\nThe current session stays open.")
            return False
        if self.loaded is not None and session.classes != self.loaded.classifier.classes:
            self.report_error(
                "Could not open the session",
                f"{path}: its classes ({', '.join(session.classes)}) are not the loaded model's "
                f"({', '.join(self.loaded.classifier.classes)}). Load a model with these classes first.",
            )
            return False
        self.store.remember_folder("sessions", path.parent)
        self.start_session(session, path)
        return True

    def save_session(self) -> bool:
        if self.session_path is None:
            return self.save_session_as()
        return self._write_session(self.session_path)

    def save_session_as(self) -> bool:
        sample = self.session.sample.sample_id if self.session and self.session.sample.sample_id else "session"
        suggested = str(Path(self.store.folder("sessions")) / f"{sample}{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self, "Save session", suggested, SESSION_FILTER)
        if not path:
            return False
        path = Path(path) if path.endswith(SUFFIX) else Path(path + SUFFIX)
        if self._write_session(path):
            self.store.remember_folder("sessions", path.parent)
            return True
        return False

    def _write_session(self, path: Path) -> bool:
        if self.session is None:
            return False
        try:
            save_session(path, self.session)
        except (OSError, ValueError) as error:
            message = f"{path}: {describe_error(error)}\nNothing was overwritten."
            self.report_error("Could not save the session", message)
            return False
        self.session_path = path
        self.unsaved = self.unsaved_decisions = False
        self.remove_autosave()
        self._show_session_title()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def confirm_discard(self) -> bool:
        """Ask before unsaved decisions are dropped: save them, discard them, or stay."""
        if not self.unsaved_decisions or self.session is None or not self.session.rows:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved review",
            "This session has decisions that are not saved. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save_session()
        return answer == QMessageBox.StandardButton.Discard

    def ask_before_closing(self) -> bool:
        """Whether closing must wait: with unsaved decisions the technician is asked (save,
        discard, or stay) in a window-modal box that does not block the event loop; the answer
        closes the window again, or not."""
        if getattr(self, "_closing_confirmed", False) or not self.unsaved_decisions:
            return False
        if self.session is None or not self.session.rows:
            return False
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsaved review",
            "This session has decisions that are not saved. Save them before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(lambda _: self._closing_answered(box.standardButton(box.clickedButton())))
        self.closing_question = box
        box.open()
        return True

    def _closing_answered(self, button) -> None:
        if button == QMessageBox.StandardButton.Save and not self.save_session():
            return
        if button in (QMessageBox.StandardButton.Save, QMessageBox.StandardButton.Discard):
            self._closing_confirmed = True
            self.close()

    # -- autosave and recovery
    def data_folder(self) -> Path | None:
        """This user's folder for the autosave and the verified cells (set, or the default)."""
        chosen = self.store.settings.value("session/autosave_folder", "")
        return Path(str(chosen)) if chosen else autosave_folder()

    def claim_user_data(self) -> bool:
        """Whether this window owns the user's autosave and verified cells: one window at a time
        does (a lock file beside them, freed when the window closes or the process dies), so two
        windows never overwrite, recover or delete each other's."""
        folder = self.data_folder()
        self._user_data_lock = None
        if folder is None:
            return False
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            return False
        lock = QLockFile(str(folder / "instance.lock"))
        lock.setStaleLockTime(0)  # a killed window's lock is stale at once (its process is gone)
        if not lock.tryLock(0):
            return False
        self._user_data_lock = lock
        return True

    def release_user_data(self) -> None:
        if getattr(self, "_user_data_lock", None) is not None:
            self._user_data_lock.unlock()
            self._user_data_lock = None

    def autosave_path(self) -> Path | None:
        """Where the open session is saved automatically; None: nowhere (the folder cannot be
        used, or another window owns it)."""
        folder = self.data_folder()
        if folder is None or getattr(self, "_user_data_lock", None) is None:
            return None
        return folder / AUTOSAVE_NAME

    def autosave(self) -> None:
        path = self.autosave_path()
        if self.session is None or not self.unsaved or path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_session(path, self.session)
            self.store.settings.setValue("session/autosaved_from", str(self.session_path or ""))
        except (OSError, ValueError) as error:
            self._autosave_failed(describe_error(error))

    def _autosave_failed(self, reason: str) -> None:
        """Said in a message the first time, in the status bar after that: a technician must learn
        that a crash would now lose their decisions, but not be stopped at every key press."""
        if not getattr(self, "_autosave_failure_said", False):
            self._autosave_failure_said = True
            self.report_error(
                "The session is not being saved automatically",
                f"{reason}\n\nIf BloodCell closes unexpectedly, decisions since the last Save session are lost. "
                "Save the session yourself (Ctrl+S) to a folder you can write in.",
            )
        self.statusBar().showMessage(f"Autosave failed: {reason}", 8000)

    def remove_autosave(self) -> None:
        self._autosave_timer.stop()
        path = self.autosave_path()
        if path is not None:
            with contextlib.suppress(OSError):  # closing must go on: settings and verified cells follow
                path.unlink(missing_ok=True)

    def offer_recovery(self) -> bool:
        """After a crash: offer the autosaved session (every decision but at most the last)."""
        path = self.autosave_path()
        if path is None or not path.is_file():
            return False
        try:
            session = load_session(path)
        except SessionFileError:
            path.unlink(missing_ok=True)
            return False
        answer = QMessageBox.question(
            self,
            "Recover the unsaved session?",
            f"BloodCell did not close normally. {sample_words(session)} with {len(session.rows)} images and "
            f"{len(session.audit)} recorded steps was saved automatically. Recover it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            path.unlink(missing_ok=True)
            return False
        origin = str(self.store.settings.value("session/autosaved_from", "") or "")
        self.start_session(session, Path(origin) if origin else None)
        self.unsaved = self.unsaved_decisions = True
        self._show_session_title()
        return True

    # -- review-level actions
    def edit_sample(self) -> None:
        if self.session is None or self._refuse_if_signed():
            return
        dialog = SampleDialog(self.session.sample, self, title="Sample details")
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.sample() != self.session.sample:
            self.session.sample = dialog.sample()
            self.session.record(SAMPLE_CHANGED, sample_id=self.session.sample.sample_id)
            self.session_changed()

    def _refuse_if_signed(self) -> bool:
        if self.session is not None and self.session.signed:
            self.report_error(
                "The session is signed",
                "A signed session is read-only. Session › New version of a signed session opens an editable copy "
                "linked to it.",
            )
            return True
        return False

    def sign_session(self) -> bool:
        if self.session is None or self._refuse_if_signed():
            return False
        if not self.ask_reviewer():
            return False
        session = self.session
        refusal = session.sign_refusal()
        if refusal:
            self.report_error("Cannot sign yet", refusal)
            return False
        try:
            counted = sum(session.counts())
            answer = QMessageBox.question(
                self,
                "Sign the session",
                f"Sign sample {session.sample.sample_id or '(no ID)'} as {session.reviewer}? {counted} cells are "
                f"counted (target {session.sample.target_count}). A signed session cannot be changed.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            session.sign()
        except SignOffRefused as error:
            self.report_error("Cannot sign yet", str(error))
            return False
        self.session_changed()
        if self.session_path is not None:
            self._write_session(self.session_path)
        return True

    def new_version(self) -> None:
        if self.session is None or not self.session.signed:
            self.report_error("Not signed", "Only a signed session needs a new version; this one can be changed.")
            return
        from model.common.hashing import file_sha256

        # The signed version is kept as a file before its copy is opened: a signed record that
        # was never saved would otherwise be gone (Save asks where; cancelling keeps it open).
        if (self.session_path is None or not self.session_path.is_file()) and not self.save_session():
            return
        sha = file_sha256(self.session_path)
        self.start_session(self.session.new_version(sha))
        self.session_changed()

    def edit_lab_header(self) -> None:
        """The lab's name and address, printed at the top of every report (set once per PC)."""
        name, address = self.store.lab_header()
        text, ok = QInputDialog.getMultiLineText(
            self,
            "Lab header for reports",
            "Lab name on the first line, then the address:",
            "\n".join(part for part in (name, address) if part),
        )
        if ok:
            first, _, rest = text.strip().partition("\n")
            self.store.set_lab_header(first.strip(), rest.strip())

    def show_audit_trail(self) -> None:
        if self.session is None:
            return
        lines = [html.escape(entry.describe()) for entry in self.session.audit] or ["(nothing recorded yet)"]
        box = QMessageBox(self)
        box.setWindowTitle("Audit trail")
        box.setText(f"{len(self.session.audit)} recorded steps, oldest first")
        box.setDetailedText("\n".join(entry.describe() for entry in self.session.audit))
        box.setInformativeText("<br>".join(lines[-12:]))
        box.open()
