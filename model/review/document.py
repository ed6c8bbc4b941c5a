"""One sample's record and everything that happens to it, without Qt (as napari's ViewerModel
under its views): the session, where it is saved and what is not saved yet, the autosave and
crash recovery, the reviewer and the sample, sign-off and new versions, exports. The window, the
PDF and `bloodcell session` render what it holds and call its use cases; every file it writes
goes through a BackgroundWriter, so that no key press waits for the disk.

Threads: call it from one thread (the GUI's). Writes finish on the writer's thread; its owner
passes each WriteOutcome back with `written()` on the calling thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from model.common.background_writer import BackgroundWriter, WriteOutcome
from model.review.audit import EXPORTED, SAMPLE_CHANGED
from model.review.export import write_session_csv
from model.review.session import ReviewSession, Sample
from model.review.session_file import (
    SUFFIX,
    SessionFileError,
    encode_session,
    load_session,
    session_json,
    session_snapshot,
)

AUTOSAVE_NAME = f"autosave{SUFFIX}"
SAVE, AUTOSAVE = "save", "autosave"
SIGNED_READ_ONLY = (
    "A signed session is read-only. Session › New version of a signed session opens an editable copy linked to it."
)


class ReviewDocument:
    """The open session and its files."""

    def __init__(self, writer: BackgroundWriter, *, autosave_path: Path | None = None) -> None:
        self.writer = writer
        self.autosave_path = autosave_path
        self.session = ReviewSession(classes=[])
        self.path: Path | None = None
        # Changes not yet in the session file (autosave covers them after a crash), and among them
        # technician's decisions, which closing asks about (results alone can be classified again).
        self.unsaved = False
        self.unsaved_decisions = False
        self._generation = 0  # counts changes, so a save only clears what it wrote
        self._saving: dict[Path, int] = {}

    # -- the session's life
    def start(self, session: ReviewSession, path: Path | None = None, *, reviewer: str = "") -> None:
        """Show another session (new, opened, recovered, a new version): nothing of it is unsaved."""
        self.session, self.path = session, path
        self.unsaved = self.unsaved_decisions = False
        if reviewer and not session.signed:
            session.reviewer = reviewer
        self._generation += 1

    def adopt(self, session: ReviewSession) -> None:
        """The same record in a new session object (a new set of images after a model switch
        carries the sample, the reviewer and the trail on): its file and unsaved state stay."""
        self.session = session
        self._generation += 1

    def changed(self, *, decision: bool = True, autosave: bool = True) -> None:
        """The session changed (a decision, new results): unsaved, and autosaved (at once, or
        when the caller's timer says: `autosave=False`), so that a crash loses little."""
        self.unsaved = True
        self.unsaved_decisions = self.unsaved_decisions or decision
        self._generation += 1
        if autosave:
            self.autosave()

    def autosave(self) -> None:
        if self.autosave_path is None or not self.unsaved:
            return
        self._write(self.autosave_path, AUTOSAVE)

    def save(self, path: Path | None = None) -> None:
        """Write the session to `path` (or where it was saved) on the writer; `written()` applies
        the outcome. The previous file stays whole until the new one is."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("the session has no file yet: give one")
        self._saving[target] = self._generation
        self._write(target, SAVE)

    def _write(self, path: Path, purpose: str) -> None:
        snapshot = session_snapshot(self.session)  # milliseconds; the document is made on the worker
        self.writer.submit(path, lambda: encode_session(session_json(snapshot)), purpose=purpose, private=True)

    def written(self, outcome: WriteOutcome) -> None:
        """Apply a finished write (on the calling thread): a saved session is no longer unsaved
        unless it changed since, and its autosave is no longer needed."""
        if outcome.purpose != SAVE or outcome.error is not None:
            return
        generation = self._saving.pop(outcome.path, None)
        self.path = outcome.path
        if generation == self._generation:
            self.unsaved = self.unsaved_decisions = False
            self.discard_autosave()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for the writes so far (closing; tests)."""
        return self.writer.flush(timeout)

    # -- autosave and recovery
    def discard_autosave(self) -> None:
        """A clean close or a save: nothing to recover next time (removed on the writer, after
        any autosave already under way, without waiting for it here)."""
        if self.autosave_path is not None:
            self.writer.remove(self.autosave_path, purpose=AUTOSAVE)

    def recoverable(self) -> ReviewSession | None:
        """What a crash left in the autosave, or None; a damaged autosave is removed."""
        if self.autosave_path is None or not self.autosave_path.is_file():
            return None
        try:
            return load_session(self.autosave_path)
        except SessionFileError:
            self.autosave_path.unlink(missing_ok=True)
            return None

    def recover(self, session: ReviewSession, path: Path | None) -> None:
        self.start(session, path)
        self.unsaved = self.unsaved_decisions = True

    # -- use cases
    def refusal(self) -> str | None:
        """Why the session cannot be changed now, or None."""
        return SIGNED_READ_ONLY if self.session.signed else None

    def set_reviewer(self, name: str) -> None:
        if name and not self.session.signed:
            self.session.reviewer = name

    def change_sample(self, sample: Sample) -> bool:
        if self.session.signed or sample == self.session.sample:
            return False
        self.session.sample = sample
        self.session.record(SAMPLE_CHANGED, sample_id=sample.sample_id)
        self.changed()
        return True

    def sign(self) -> None:
        """Sign (SignOffRefused says why not); a session with a file is saved signed at once."""
        self.session.sign()
        self.changed()
        if self.path is not None:
            self.save(self.path)

    def new_version(self, signed_file_sha256: str) -> None:
        """An editable copy of the signed session, linked to its file; the trail continues."""
        self.start(self.session.new_version(signed_file_sha256))
        self.changed()

    def export_csv(self, path: Path, *, model_name: str, model_sha256: str) -> None:
        self.exported(
            path, lambda: write_session_csv(self.session, path, model_name=model_name, model_sha256=model_sha256)
        )

    def exported(self, path: Path, write: Callable[[], object]) -> None:
        """Run an atomic export and record it in the trail (a failure raises, nothing recorded)."""
        write()
        self.session.record(EXPORTED, file=str(path))
        self.changed(decision=False)

    def title(self, program: str) -> str:
        """The window's title: program, sample, file, signed, unsaved."""
        sample = self.session.sample.sample_id or "no sample ID"
        signed = " — signed, read-only" if self.session.signed else ""
        name = self.path.name if self.path else "unsaved session"
        return f"{program} — {sample} ({name}){signed}{' *' if self.unsaved else ''}"
