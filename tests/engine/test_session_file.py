"""Saved review sessions: the file round-trips, the trail records every step in order, sign-off
refuses while work remains, a signed session is read-only, damaged files are refused."""

import csv
import json
import os
from pathlib import Path

import pytest
from helpers import WRONG_VALUES, every_node, run_bloodcell, with_value

from model.inference.classifier import ClassifiedImage, UnreadableImage
from model.review.audit import CLASSIFIED, NEW_VERSION, RECLASSIFIED, REVIEWED, SIGNED, UNDONE
from model.review.session import ModelIdentity, ReviewSession, Sample, SessionSigned, SignOffRefused
from model.review.session_file import SessionFileError, load_session, save_session, session_json

CLASSES = ["EOSINOPHIL", "LYMPHOCYTE"]
MODEL = ModelIdentity("lab model", "ab" * 32)


def a_session() -> ReviewSession:
    session = ReviewSession(classes=CLASSES, sample=Sample("S-2026-0042", "P-17", 100, "left smear"))
    session.reviewer = "A. Technician"
    results = [
        ClassifiedImage(Path("/d/sure.jpg"), (0.99, 0.01), unfamiliarity=-0.5),
        ClassifiedImage(Path("/d/unsure.jpg"), (0.6, 0.4), unfamiliarity=0.1),
        ClassifiedImage(Path("/d/cat.jpg"), (0.97, 0.03), unfamiliarity=4.0),
        ClassifiedImage(Path(b"/d/caf\xe9.jpg".decode("utf-8", "surrogateescape")), (0.02, 0.98), unfamiliarity=0.0),
        UnreadableImage(Path("/d/broken.jpg"), "the file is empty (0 bytes)"),
    ]
    for number, result in enumerate(results):
        session.add(
            result, truth=0 if number < 2 else None, sha256=f"{number:064x}", model=MODEL, unfamiliar_threshold=1.0
        )
    session.record_classification(MODEL, len(results))
    return session


def test_a_session_comes_back_from_its_file_as_it_was(tmp_path):
    session = a_session()
    session.set_verified([1], 1)
    session.set_reviewed([0])
    path = save_session(tmp_path / "s.bcsession", session)
    again = load_session(path)
    first, second = session_json(session), session_json(again)
    first.pop("saved_utc"), second.pop("saved_utc")
    assert first == second
    assert again.counts() == session.counts() and again.unidentified_count == 1
    assert again.rows[3].path == session.rows[3].path  # a name that is not UTF-8 survives
    assert again.rows[1].decided_by == "A. Technician" and again.rows[1].decided_at


def test_the_trail_lists_every_step_in_order_and_sign_off_waits_for_the_bins():
    session = a_session()
    with pytest.raises(SignOffRefused, match="1 in the review bin.*1 unidentified"):
        session.sign()
    session.set_verified([1], 1)  # the unsure one, reclassified
    with pytest.raises(SignOffRefused, match="^cannot sign yet: 1 unidentified$"):
        session.sign()
    session.set_verified([2], 0)  # the unfamiliar one, given a class
    session.set_verified([2], None)  # ... undone
    session.set_verified([2], 1)
    session.set_reviewed([0])
    signature = session.sign()
    assert signature.reviewer == "A. Technician"
    events = [entry.event for entry in session.audit]
    assert events == [CLASSIFIED, RECLASSIFIED, RECLASSIFIED, UNDONE, RECLASSIFIED, REVIEWED, SIGNED]
    assert session.audit[2].details == {"cell": "/d/cat.jpg", "from_class": "unidentified", "to_class": "EOSINOPHIL"}
    assert session.audit[0].details["model_sha256"] == MODEL.sha256
    times = [entry.stamp.utc for entry in session.audit]
    assert times == sorted(times)
    for change in (lambda: session.set_verified([0], 1), lambda: session.set_reviewed([1], False), session.clear):
        with pytest.raises(SessionSigned):
            change()
    version = session.new_version(sha256="cd" * 32)
    assert not version.signed and version.parent["signed_by"] == "A. Technician"
    assert version.audit[-1].event == NEW_VERSION
    version.set_verified([0], 1)
    assert session.rows[0].verified is None  # the signed original is untouched


def test_sign_off_needs_a_reviewer_and_something_to_sign():
    session = ReviewSession(classes=CLASSES)
    with pytest.raises(SignOffRefused, match="enter your name"):
        session.sign()
    session.reviewer = "B"
    with pytest.raises(SignOffRefused, match="nothing to sign"):
        session.sign()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(format="other"), "does not say it is a BloodCell session"),
        (lambda d: d.update(format_version=99), "newer than this app reads"),
        (lambda d: d["images"][0].update(verified=7), "verified class 7 is not one of the 2"),
        (lambda d: d["images"][0].update(probabilities=[0.5]), "one number per class"),
        (lambda d: d["images"][0].update(model=3), "model 3 is not one of the 1"),
        (lambda d: d["audit"][0].update(event="deleted everything"), "unknown audit event"),
        (lambda d: d["audit"][0].update(time_utc="yesterday"), "not an ISO 8601 time"),
        (lambda d: d["sample"].update(target_count=0), "target_count"),
        (lambda d: d.update(images={"a": 1}), "'images' must be a list"),
        (lambda d: d["models"].__setitem__(0, "a name"), "each of 'models' must be an object"),
    ],
)
def test_a_damaged_session_is_refused_with_the_reason(tmp_path, change, reason):
    data = session_json(a_session())
    change(data)
    path = tmp_path / "bad.bcsession"
    path.write_text(json.dumps(data))
    with pytest.raises(SessionFileError, match=reason):
        load_session(path)


def test_any_field_of_a_session_with_a_wrong_value_is_refused_or_loads_whole(tmp_path):
    # Each field in turn is given a value of another type or size, or removed: the file either
    # loads into a session that saves again, or is refused by name; never another exception.
    # ('models' holding a text crashed the loader this way.)
    good = session_json(a_session())
    path, again = tmp_path / "damaged.bcsession", tmp_path / "again.bcsession"
    refused = 0
    for where in every_node(good):
        for value in WRONG_VALUES:
            path.write_text(json.dumps(with_value(good, where, value)))
            try:
                save_session(again, load_session(path))
            except SessionFileError as error:
                assert "damaged.bcsession" in str(error)
                refused += 1
    assert refused > 500  # the checks do refuse; the loop is not vacuous


def test_unreadable_session_files_are_refused_and_a_failed_save_keeps_the_good_one(tmp_path):
    good = save_session(tmp_path / "good.bcsession", a_session())
    before = good.read_bytes()
    truncated = tmp_path / "truncated.bcsession"
    truncated.write_bytes(before[: len(before) // 2])
    with pytest.raises(SessionFileError, match="not readable JSON"):
        load_session(truncated)
    nan = tmp_path / "nan.bcsession"
    nan.write_text(before.decode().replace("-0.5", "NaN", 1))
    with pytest.raises(SessionFileError, match="finite number"):
        load_session(nan)
    fifo = tmp_path / "pipe.bcsession"
    os.mkfifo(fifo)
    with pytest.raises(SessionFileError):
        load_session(fifo)
    session = a_session()
    session.rows[0].unfamiliarity = float("nan")  # cannot be written as JSON
    with pytest.raises(ValueError):
        save_session(good, session)
    assert good.read_bytes() == before


def test_the_cli_reads_and_exports_a_session(tmp_path):
    session = a_session()
    session.set_verified([1], 1)
    path = save_session(tmp_path / "s.bcsession", session)
    info = run_bloodcell("session", "info", path)
    assert info.returncode == 0, info.stderr
    assert "sample S-2026-0042" in info.stdout and "not signed" in info.stdout and "1 unidentified" in info.stdout
    assert "reclassified (cell /d/unsure.jpg, from_class EOSINOPHIL, to_class LYMPHOCYTE)" in info.stdout
    done = run_bloodcell("session", "export", path, "--csv", tmp_path / "s.csv", "--audit", tmp_path / "a.csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert [r["final"] for r in rows] == ["EOSINOPHIL", "LYMPHOCYTE", "", "LYMPHOCYTE", ""]
    assert rows[1]["decided_by"] == "A. Technician" and rows[1]["model_sha256"] == MODEL.sha256
    audit = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert [a["event"] for a in audit] == [CLASSIFIED, RECLASSIFIED]
    broken = tmp_path / "broken.bcsession"
    broken.write_text("{")
    refused = run_bloodcell("session", "info", broken)
    assert refused.returncode == 2 and "broken.bcsession" in refused.stderr and "Traceback" not in refused.stderr
