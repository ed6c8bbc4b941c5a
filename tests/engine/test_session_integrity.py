"""A signed session stays signed: any edit of its file in a text editor is detected and named
when it is opened, exported or verified (`bloodcell session verify`), and so is a signature the
app could not have made or an image replaced after sign-off."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import CLASSES, real_data, run_bloodcell

from model.common.hashing import file_sha256
from model.review.session import ImageRow, ReviewSession, Sample
from model.review.session_file import SessionFileError, load_session, save_session


@pytest.fixture
def signed_file(tmp_path):
    pictures = sorted((real_data() / "TEST_SIMPLE" / "NEUTROPHIL").iterdir())[:3]
    rows = []
    for picture in pictures:
        copy = tmp_path / picture.name
        shutil.copy(picture, copy)
        rows.append(ImageRow(copy, (0.01, 0.01, 0.01, 0.97), sha256=file_sha256(copy)))
    session = ReviewSession(classes=CLASSES, rows=rows, sample=Sample("S-1", "P-7"), reviewer="Ana")
    session.set_verified([0], 1)  # a decision, with its audit entry
    session.sign()
    return save_session(tmp_path / "signed.bcsession", session)


def edited(path, change):
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=1))  # as a text editor leaves it: hashes untouched
    return path


def remove_signature(document):
    document["signature"] = None


def add_a_signature_with_work_left(document):
    document["images"][1]["probabilities"] = [0.5, 0.2, 0.1, 0.2]  # below the threshold, not reviewed


def erase_decision_and_entry(document):
    document["images"][0].update(verified=None, reviewed=False, decided_by="", decided_at="")
    document["audit"] = [entry for entry in document["audit"] if entry["event"] != "reclassified"]


EDITS = {
    "a decision changed": lambda d: d["images"][0].update(verified=2),
    "reviewer and signer renamed": lambda d: (d.update(reviewer="Bob"), d["signature"].update(reviewer="Bob")),
    "the signature time moved": lambda d: d["signature"].update(time_utc="2020-01-01T00:00:00+00:00"),
    "an audit entry deleted": lambda d: d["audit"].pop(0),
    "a decision and its entry erased": erase_decision_and_entry,
    "the signature removed": remove_signature,
    "the patient and sample changed": lambda d: d["sample"].update(sample_id="S-2", patient_ref="P-8"),
    "an audit entry's words changed": lambda d: d["audit"][-1]["details"].update(cells_counted=99),
}


@pytest.mark.slow
@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_by_a_text_editor_is_detected_and_named(signed_file, edit):
    edited(signed_file, EDITS[edit])
    with pytest.raises(SessionFileError, match="altered after BloodCell saved it"):
        load_session(signed_file)
    done = run_bloodcell("session", "verify", signed_file)
    assert done.returncode == 1 and "ALTERED" in done.stderr, done.stdout + done.stderr
    exported = run_bloodcell("session", "export", signed_file, "--csv", signed_file.with_suffix(".csv"))
    assert exported.returncode == 2 and "altered" in exported.stderr


def test_a_signature_the_app_could_not_have_made_is_named(signed_file):
    """A signature added to a session with an image still waiting, hashes recomputed and all:
    what sign() refuses cannot be opened as signed."""
    from model.review.integrity import content_sha256, seal

    document = json.loads(signed_file.read_text())
    add_a_signature_with_work_left(document)
    document["signature"]["content_sha256"] = content_sha256(document, without_signature=True)
    signed_file.write_text(json.dumps(seal(document)))
    with pytest.raises(SessionFileError, match="in the review bin.*could not have signed it"):
        load_session(signed_file)


def test_an_image_replaced_after_sign_off_is_named(signed_file):
    session = load_session(signed_file)
    replaced = session.rows[2].path
    replaced.write_bytes((real_data() / "TEST_SIMPLE" / "EOSINOPHIL").iterdir().__next__().read_bytes())
    done = run_bloodcell("session", "verify", signed_file)
    assert done.returncode == 1 and replaced.name in done.stderr and "SHA-256 differs" in done.stderr


def test_an_untouched_file_verifies_and_opens_signed(signed_file):
    done = run_bloodcell("session", "verify", signed_file)
    assert done.returncode == 0 and "intact" in done.stdout, done.stderr
    session = load_session(signed_file)
    assert session.signed and session.signature.content_sha256
    save_session(signed_file, session)  # saved again unchanged: still intact
    assert run_bloodcell("session", "verify", signed_file).returncode == 0


def test_thresholds_of_a_signed_session_cannot_move(signed_file):
    session = load_session(signed_file)
    session.set_unfamiliar_threshold(None, 0.001)
    assert all(row.unfamiliar_threshold is None for row in session.rows)
    save_session(signed_file, session)
    assert run_bloodcell("session", "verify", signed_file).returncode == 0


def test_files_holding_patient_data_are_the_users_alone(signed_file, tmp_path):
    import os
    import stat

    from model.review.verified import VerifiedStore

    os.chmod(signed_file, 0o644)  # as a copy from elsewhere may be
    save_session(signed_file, load_session(signed_file))
    assert stat.S_IMODE(signed_file.stat().st_mode) == 0o600
    store = VerifiedStore(tmp_path / "verified-cells.json")
    store.save()
    assert stat.S_IMODE((tmp_path / "verified-cells.json").stat().st_mode) == 0o600


def test_typed_text_cannot_forge_a_line_of_session_info(tmp_path):
    session = ReviewSession(classes=CLASSES, rows=[ImageRow(tmp_path / "x.jpg", (0.97, 0.01, 0.01, 0.01))])
    session.sample = Sample("S-1\nsigned by Chief Pathologist", "P\r-9", comments="fine\nall clear")
    path = save_session(tmp_path / "typed.bcsession", session)
    done = run_bloodcell("session", "info", path)
    assert done.returncode == 0
    assert "S-1\\nsigned by Chief Pathologist" in done.stdout and "P\\r-9" in done.stdout
    assert not any(line.startswith("signed by Chief") for line in done.stdout.splitlines())
