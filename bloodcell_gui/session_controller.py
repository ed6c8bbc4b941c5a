"""Review sessions in the window: the menus and dialogs around the engine's ReviewDocument (new,
open, save, autosave and recovery, reviewer, sample details, sign-off, new version, the audit
trail). The rules and the files are the document's; this asks the technician and shows the answer.
Writes finish on the document's background writer and come back here as a signal."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLockFile, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMainWindow, QMessageBox

from bloodcell_gui.sample_dialog import SampleDialog
from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.timers import make_timer
from model.common.background_writer import BackgroundWriter, WriteOutcome
from model.common.editions import edition
from model.common.user_folders import user_folders
from model.images.magnification import AUTO, fixed_magnification
from model.review.document import AUTOSAVE, AUTOSAVE_NAME, SAVE, ReviewDocument
from model.review.session import ReviewSession, Sample, SignOffRefused
from model.review.session_file import SUFFIX, SessionFileError, load_session

SESSION_FILTER = f"BloodCell sessions (*{SUFFIX})"
# At most one autosave snapshot this often while decisions follow each other.
AUTOSAVE_MS = 500


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


class SessionController(QObject):
    """The window's sessions. `window` gives the dialogs a parent and shows what changed (its
    `report_error`, `load_session_rows`, `status_message`, `results_classes` and `close`)."""

    written = Signal(object)  # WriteOutcome, from the writer's thread

    def __init__(self, window: QMainWindow, store: SettingsStore) -> None:
        super().__init__(window)
        self.window = window
        self.store = store
        self.writer = BackgroundWriter(self.written.emit)
        self.written.connect(self._written)
        self.document = ReviewDocument(self.writer)
        self._lock: QLockFile | None = None
        self._autosave_failure_said = False
        self._closing_confirmed = False
        self.closing_question: QMessageBox | None = None
        self._autosave_timer = make_timer(self, AUTOSAVE_MS, single_shot=True)
        self._autosave_timer.timeout.connect(self.document.autosave)

    def build_menus(self, file_menu, menu_bar) -> None:
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
        menu = menu_bar.addMenu("&Session")
        menu.addAction("Sample details…").triggered.connect(self.edit_sample)
        menu.addAction("Reviewer…").triggered.connect(lambda: self.ask_reviewer(force=True))
        menu.addAction("Lab header for reports…").triggered.connect(self.edit_lab_header)
        menu.addAction("Lab magnification…").triggered.connect(self.edit_lab_magnification)
        menu.addAction("Audit trail…").triggered.connect(self.show_audit_trail)
        menu.addSeparator()
        self.sign_action = menu.addAction("Sign session…", QKeySequence("Ctrl+Shift+G"))
        self.sign_action.triggered.connect(self.sign_session)
        menu.addAction("New version of a signed session").triggered.connect(self.new_version)

    # -- state
    @property
    def session(self) -> ReviewSession:
        return self.document.session

    @property
    def session_path(self) -> Path | None:
        return self.document.path

    @property
    def unsaved(self) -> bool:
        return self.document.unsaved

    @property
    def unsaved_decisions(self) -> bool:
        return self.document.unsaved_decisions

    @unsaved_decisions.setter
    def unsaved_decisions(self, value: bool) -> None:
        self.document.unsaved_decisions = value

    def changed(self, decision: bool = True) -> None:
        """The session changed: the document marks it unsaved, and it is autosaved off this thread
        at most every AUTOSAVE_MS while decisions follow each other (a crash loses at most the
        decisions of that last half second): its serialising shares Python's lock with this thread."""
        self.document.changed(decision=decision, autosave=False)
        if not self._autosave_timer.isActive():
            self._autosave_timer.start()
        self.show_title()

    def show_title(self) -> None:
        self.window.setWindowTitle(self.document.title(edition()))

    def refuse_if_signed(self) -> bool:
        refusal = self.document.refusal()
        if refusal:
            self.window.report_error("The session is signed", refusal)
        return refusal is not None

    def ask_reviewer(self, force: bool = False) -> str:
        """The reviewer's name, asked once per PC user and remembered."""
        name = self.store.reviewer()
        if force or not name:
            text, ok = QInputDialog.getText(
                self.window, "Reviewer", "Your name, as it should appear on signed reports:", text=name
            )
            if ok and text.strip():
                name = text.strip()
                self.store.set_reviewer(name)
        self.document.set_reviewer(name)
        return name

    # -- files
    def new_session_dialog(self) -> None:
        if not self.confirm_discard():
            return
        dialog = SampleDialog(Sample(), self.window, title="New session", reviewer=self.store.reviewer())
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        if dialog.reviewer.text().strip():
            self.store.set_reviewer(dialog.reviewer.text().strip())
        self.start_session(ReviewSession(classes=self.window.results_classes(), sample=dialog.sample()))

    def start_session(self, session: ReviewSession, path: Path | None = None) -> None:
        self.window.load_session_rows(session)
        self.document.start(session, path, reviewer=self.store.reviewer())
        self.show_title()

    def open_session_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open session", self.store.folder("sessions"), SESSION_FILTER
        )
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path) -> bool:
        try:
            session = load_session(path)
        except SessionFileError as error:
            self.window.report_error("Could not open the session", f"{error}\n\nThe current session stays open.")
            return False
        classes = self.window.model_classes()
        if classes is not None and session.classes != classes:
            self.window.report_error(
                "Could not open the session",
                f"{path}: its classes ({', '.join(session.classes)}) are not the loaded model's "
                f"({', '.join(classes)}). Load a model with these classes first.",
            )
            return False
        self.store.remember_folder("sessions", path.parent)
        self.start_session(session, path)
        return True

    def save_session(self) -> bool:
        """Save where the session was saved (or ask where); the file is written in the background
        and the title and status bar say when it is."""
        if self.document.path is None:
            return self.save_session_as()
        self.document.save()
        return True

    def save_session_as(self) -> bool:
        sample = self.session.sample.sample_id or "session"
        suggested = str(Path(self.store.folder("sessions")) / f"{sample}{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", suggested, SESSION_FILTER)
        if not path:
            return False
        target = Path(path) if path.endswith(SUFFIX) else Path(path + SUFFIX)
        self.store.remember_folder("sessions", target.parent)
        self.document.save(target)
        return True

    def wait_for_writes(self, timeout: float | None = 60) -> bool:
        """Wait until every write so far is on disk and applied (closing, a new version, tests);
        an autosave still waiting for its timer is taken now."""
        if self._autosave_timer.isActive():
            self._autosave_timer.stop()
            self.document.autosave()
        done = self.document.flush(timeout)
        QCoreApplication.sendPostedEvents(self)  # the outcomes' queued signals
        return done

    def _written(self, outcome: WriteOutcome) -> None:
        self.document.written(outcome)
        if outcome.error is not None:
            if outcome.purpose == AUTOSAVE:
                self._autosave_failed(outcome.error)
            else:
                what = "session" if outcome.purpose == SAVE else outcome.purpose
                self.window.report_error(
                    f"Could not save the {what}", f"{outcome.path}: {outcome.error}\nNothing was overwritten."
                )
            return
        if outcome.purpose == SAVE:
            self.window.status_message(f"Saved {outcome.path}", 5000)
            self.show_title()
        elif outcome.purpose == AUTOSAVE:
            self.store.settings.setValue("session/autosaved_from", str(self.document.path or ""))

    def confirm_discard(self) -> bool:
        """Ask before unsaved decisions are dropped: save them, discard them, or stay."""
        if not self.document.unsaved_decisions or not self.session.rows:
            return True
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window,
            "Unsaved review",
            "This session has decisions that are not saved. Save them first?",
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
        )
        if answer == buttons.Save:
            return self.save_session() and self.wait_for_writes() and not self.document.unsaved_decisions
        return answer == buttons.Discard

    def ask_before_closing(self) -> bool:
        """Whether closing must wait: with unsaved decisions the technician is asked (save,
        discard, or stay) in a window-modal box that does not block the event loop; the answer
        closes the window again, or not."""
        if self._closing_confirmed or not self.document.unsaved_decisions or not self.session.rows:
            return False
        buttons = QMessageBox.StandardButton
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsaved review",
            "This session has decisions that are not saved. Save them before closing?",
            buttons.Save | buttons.Discard | buttons.Cancel,
            self.window,
        )
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(lambda _: self._closing_answered(box.standardButton(box.clickedButton())))
        self.closing_question = box
        box.open()
        return True

    def _closing_answered(self, button) -> None:
        buttons = QMessageBox.StandardButton
        if button == buttons.Save and not (self.save_session() and self.wait_for_writes()):
            return
        if button == buttons.Save and self.document.unsaved_decisions:
            return  # the save failed and said why
        if button in (buttons.Save, buttons.Discard):
            self._closing_confirmed = True
            self.window.close()

    def close(self) -> None:
        """A clean close: the writes so far finish, nothing is left to recover, the lock goes."""
        self._autosave_timer.stop()
        self.document.discard_autosave()
        self.writer.flush(timeout=60)
        self.release_user_data()

    # -- the user's data folder: one window owns it
    def data_folder(self) -> Path | None:
        """This user's folder for the autosave and the verified cells (set, or the default)."""
        chosen = self.store.settings.value("session/autosave_folder", "")
        return Path(str(chosen)) if chosen else autosave_folder()

    def claim_user_data(self) -> bool:
        """Whether this window owns the user's autosave and verified cells: one window at a time
        does (a lock file beside them, freed when the window closes or the process dies), so two
        windows never overwrite, recover or delete each other's."""
        folder = self.data_folder()
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
        self._lock = lock
        self.document.autosave_path = folder / AUTOSAVE_NAME
        return True

    def release_user_data(self) -> None:
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
            self.document.autosave_path = None

    def autosave_path(self) -> Path | None:
        """Where the open session is saved automatically; None: nowhere (the folder cannot be
        used, or another window owns it)."""
        return self.document.autosave_path

    def _autosave_failed(self, reason: str) -> None:
        """Said in a message the first time, in the status bar after that: a technician must learn
        that a crash would now lose their decisions, but not be stopped at every key press."""
        if not self._autosave_failure_said:
            self._autosave_failure_said = True
            self.window.report_error(
                "The session is not being saved automatically",
                f"{reason}\n\nIf BloodCell closes unexpectedly, decisions since the last Save session are lost. "
                "Save the session yourself (Ctrl+S) to a folder you can write in.",
            )
        self.window.status_message(f"Autosave failed: {reason}", 8000)

    def offer_recovery(self) -> bool:
        """After a crash: offer the autosaved session (every decision but at most the last)."""
        session = self.document.recoverable()
        if session is None:
            return False
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window,
            "Recover the unsaved session?",
            f"BloodCell did not close normally. {sample_words(session)} with {len(session.rows)} images and "
            f"{len(session.audit)} recorded steps was saved automatically. Recover it?",
            buttons.Yes | buttons.No,
            buttons.Yes,
        )
        if answer != buttons.Yes:
            self.document.discard_autosave()
            return False
        origin = str(self.store.settings.value("session/autosaved_from", "") or "")
        self.window.load_session_rows(session)
        self.document.recover(session, Path(origin) if origin else None)
        self.show_title()
        return True

    # -- review-level actions
    def edit_sample(self) -> None:
        if self.refuse_if_signed():
            return
        dialog = SampleDialog(self.session.sample, self.window, title="Sample details")
        if dialog.exec() == QDialog.DialogCode.Accepted and self.document.change_sample(dialog.sample()):
            self.show_title()

    def sign_session(self) -> bool:
        if self.refuse_if_signed() or not self.ask_reviewer():
            return False
        session = self.session
        refusal = session.sign_refusal()
        if refusal:
            self.window.report_error("Cannot sign yet", refusal)
            return False
        counted = sum(session.counts())
        answer = QMessageBox.question(
            self.window,
            "Sign the session",
            f"Sign sample {session.sample.sample_id or '(no ID)'} as {session.reviewer}? {counted} cells are "
            f"counted (target {session.sample.target_count}). A signed session cannot be changed.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            self.document.sign()
        except SignOffRefused as error:
            self.window.report_error("Cannot sign yet", str(error))
            return False
        self.window.session_changed_elsewhere()
        self.show_title()
        return True

    def new_version(self) -> None:
        if not self.session.signed:
            self.window.report_error(
                "Not signed", "Only a signed session needs a new version; this one can be changed."
            )
            return
        from model.common.hashing import file_sha256

        # The signed version is kept as a file before its copy is opened: a signed record that
        # was never saved would otherwise be gone (Save asks where; cancelling keeps it open).
        if not self.save_session() or not self.wait_for_writes() or self.document.path is None:
            return
        if not self.document.path.is_file():
            return
        self.document.new_version(file_sha256(self.document.path))
        self.window.load_session_rows(self.document.session)
        self.show_title()

    def edit_lab_header(self) -> None:
        """The lab's name and address, printed at the top of every report (set once per PC)."""
        name, address = self.store.lab_header()
        text, ok = QInputDialog.getMultiLineText(
            self.window,
            "Lab header for reports",
            "Lab name on the first line, then the address:",
            "\n".join(part for part in (name, address) if part),
        )
        if ok:
            first, _, rest = text.strip().partition("\n")
            self.store.set_lab_header(first.strip(), rest.strip())

    def edit_lab_magnification(self) -> None:
        """This lab's magnification, kept for the PC: measured on each batch (auto), or fixed by
        hand when the camera and objective are known (e.g. 1.8: cells 1.8 times as large as in
        the model's training pictures). It frames the next session's pictures."""
        current = self.store.lab_magnification()
        text, ok = QInputDialog.getText(
            self.window,
            "Lab magnification",
            "How large this lab's cells are relative to the model's training pictures:\n"
            "'auto' to measure it on each batch of pictures, or a factor such as 1.8.",
            text="auto" if current is None else f"{current:g}",
        )
        if not ok:
            return
        try:
            value = None if text.strip().lower() in ("", AUTO) else fixed_magnification(float(text)).factor
        except ValueError as error:
            self.window.report_error("Lab magnification not changed", f"{text!r}: {error}")
            return
        self.store.set_lab_magnification(value)

    def show_audit_trail(self) -> None:
        audit = self.session.audit
        lines = [html.escape(entry.describe()) for entry in audit] or ["(nothing recorded yet)"]
        box = QMessageBox(self.window)
        box.setWindowTitle("Audit trail")
        box.setText(f"{len(audit)} recorded steps, oldest first")
        box.setDetailedText("\n".join(entry.describe() for entry in audit))
        box.setInformativeText("<br>".join(lines[-12:]))
        box.open()
