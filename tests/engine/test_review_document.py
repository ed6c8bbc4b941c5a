"""The review document and its background writer: saves and autosaves leave the caller at once,
the latest write wins, a save clears only what it wrote, and the files are the user's alone."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from helpers import CLASSES

from model.common.background_writer import BackgroundWriter, WriteOutcome
from model.inference.classifier import ClassifiedImage
from model.review.document import AUTOSAVE_NAME, SAVE, ReviewDocument
from model.review.session import ReviewSession
from model.review.session_file import load_session


def session_of(count: int) -> ReviewSession:
    session = ReviewSession(classes=CLASSES)
    for index in range(count):
        session.add(ClassifiedImage(Path(f"/lab/{index}.jpg"), (0.4, 0.3, 0.2, 0.1)))
    return session


def test_the_latest_write_wins_and_submitting_never_waits_for_the_disk(tmp_path):
    release = threading.Event()
    outcomes: list[WriteOutcome] = []
    writer = BackgroundWriter(outcomes.append)
    writer.submit(tmp_path / "slow.txt", lambda: release.wait(10) and b"first", purpose="x")
    for text in (b"a", b"b", b"c"):  # queued behind the slow one: only the last is written
        writer.submit(tmp_path / "target.txt", lambda text=text: text, purpose="x")
    assert not (tmp_path / "target.txt").exists()  # nothing waited for the disk
    release.set()
    assert writer.flush(10)
    assert (tmp_path / "target.txt").read_bytes() == b"c"
    assert [outcome.path.name for outcome in outcomes] == ["slow.txt", "target.txt"]
    writer.close()


def test_a_failed_write_is_reported_and_replaces_nothing(tmp_path):
    outcomes: list[WriteOutcome] = []
    writer = BackgroundWriter(outcomes.append)
    (tmp_path / "kept.txt").write_bytes(b"old")

    def broken() -> bytes:
        raise ValueError("cannot serialise")

    writer.submit(tmp_path / "kept.txt", broken, purpose="x")
    writer.submit(tmp_path / "no-folder" / "x.txt", lambda: b"x", purpose="x")
    assert writer.flush(10)
    assert (tmp_path / "kept.txt").read_bytes() == b"old"
    assert all(outcome.error for outcome in outcomes) and len(outcomes) == 2
    writer.close()


def test_a_save_clears_only_what_it_wrote_and_removes_the_autosave(tmp_path):
    outcomes: list[WriteOutcome] = []
    writer = BackgroundWriter(outcomes.append)
    document = ReviewDocument(writer, autosave_path=tmp_path / AUTOSAVE_NAME)
    document.start(session_of(3))
    document.session.set_verified([0], 1)
    document.changed()
    assert document.flush(10) and (tmp_path / AUTOSAVE_NAME).is_file()
    assert stat.S_IMODE((tmp_path / AUTOSAVE_NAME).stat().st_mode) == 0o600
    target = tmp_path / "sample.bcsession"
    document.save(target)
    document.session.set_verified([1], 2)  # a decision while the save is on its way
    document.changed()
    assert document.flush(10)
    for outcome in outcomes:
        document.written(outcome)
    assert document.path == target and document.unsaved_decisions  # the later decision is not in the file
    assert load_session(target).rows[0].verified == 1 and load_session(target).rows[1].verified is None
    outcomes.clear()
    document.save()
    assert document.flush(10)
    for outcome in list(outcomes):
        document.written(outcome)
    written = [o.purpose for o in outcomes]
    assert document.flush(10)  # the autosave's removal, queued on the writer
    assert not document.unsaved and not (tmp_path / AUTOSAVE_NAME).exists()
    assert written == [SAVE]
    writer.close()


def test_a_signed_document_refuses_changes_and_a_new_version_keeps_its_trail(tmp_path):
    writer = BackgroundWriter()
    document = ReviewDocument(writer)
    session = session_of(2)
    session.reviewer = "A. Technician"
    session.set_reviewed([0, 1], True)
    document.start(session)
    document.sign()
    assert document.refusal() and not document.change_sample(session.sample.__class__("other"))
    trail = len(document.session.audit)
    document.new_version("ab" * 32)
    assert not document.session.signed and document.refusal() is None
    assert len(document.session.audit) > trail and document.unsaved
    writer.close()
