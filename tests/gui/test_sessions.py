"""Saved, signed and audited review sessions, driven through the window with real events."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import real_data
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from qt_helpers import classify_and_wait

from bloodcell_gui.main_window import MainWindow
from model.review.audit import CLASSIFIED, RECLASSIFIED, REVIEWED, SIGNED
from model.review.session import Sample
from model.review.session_file import load_session, session_json


def answer(button: QMessageBox.StandardButton) -> None:
    """Press `button` in the next modal question box."""

    def press() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, press)
            return
        box.button(button).click()

    QTimer.singleShot(20, press)


def decide(window, keys) -> None:
    for box in window.findChildren(QMessageBox):  # messages read and closed first
        box.close()
    window.tabs.setCurrentWidget(window.table)
    window.table.setFocus()
    for row, key in keys:
        window.table.selectRow(row)
        QTest.keyClick(window.table, key)


def test_a_session_is_saved_reopened_signed_and_audited(qtbot, window, tmp_path):
    window.store.set_reviewer("A. Technician")
    window.sessions.start_session(
        window.results.session.__class__(classes=window.results.classes, sample=Sample("S-42", "P-7", 100, ""))
    )
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    decide(window, [(0, Qt.Key.Key_3), (1, Qt.Key.Key_R)])
    assert window.sessions.unsaved_decisions and window.windowTitle().endswith("*")
    path = tmp_path / "s42.bcsession"
    window.sessions.document.save(path)  # written in the background
    assert window.sessions.wait_for_writes() and not window.sessions.unsaved_decisions
    saved = session_json(window.results.session)
    counts = window.results.session.counts()
    window.close()
    assert not window.isVisible()  # saved: closing does not ask

    other = MainWindow(QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(other)
    other.show()
    other.start()
    qtbot.waitUntil(lambda: other.loaded is not None, timeout=60_000)
    assert other.sessions.open_session(path)
    again = session_json(other.results.session)
    saved.pop("saved_utc"), again.pop("saved_utc")
    assert again == saved
    assert other.results.session.counts() == counts
    other.activateWindow()

    session = other.results.session
    other.store.set_reviewer("A. Technician")  # this PC user's name, remembered
    unsure = [i for i, row in enumerate(session.rows) if session.needs_review(row) or row.unidentified]
    assert unsure, "the untrained model's answers must wait for review, or the refusal below tests nothing"
    assert not other.sessions.sign_session()
    assert "cannot sign yet" in other.last_error
    decide(other, [(other.table_filter.mapFromSource(other.results.index(i, 0)).row(), Qt.Key.Key_R) for i in unsure])
    answer(QMessageBox.StandardButton.Yes)
    assert other.sessions.sign_session(), other.last_error
    assert session.signed and "signed, read-only" in other.windowTitle()
    before = [row.verified for row in session.rows]
    other.review.reclassify_rows([2], 0)  # what key 1 and the menu do
    assert [row.verified for row in session.rows] == before and "signed" in other.last_error
    events = [entry.event for entry in session.audit]
    assert events[0] == CLASSIFIED and events[1:3] == [RECLASSIFIED, REVIEWED] and events[-1] == SIGNED
    assert other.sessions.wait_for_writes() and load_session(path).signed  # signing a saved session saves it
    other.sessions.unsaved_decisions = False
    other.close()


RECORDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from bloodcell_gui.main_window import MainWindow

    app = QApplication([])
    main = MainWindow(QSettings(sys.argv[1], QSettings.Format.IniFormat))
    main.show()
    main.start()
    while main.loaded is None:
        app.processEvents()
    main.classify([Path(sys.argv[2])])
    while main.is_busy() or main.results is None or not main.results.session.rows:
        app.processEvents()
    time.sleep(0.5)
    app.processEvents()
    main.tabs.setCurrentWidget(main.table)
    for row, key in ((0, Qt.Key.Key_1), (1, Qt.Key.Key_2), (2, Qt.Key.Key_R)):
        main.table.selectRow(row)
        QTest.keyClick(main.table, key)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            app.processEvents()
    print("decided", flush=True)
    while True:
        app.processEvents()
        time.sleep(0.01)
    """
)


@pytest.mark.slow
def test_after_kill_9_the_autosaved_session_is_offered_with_its_decisions(qtbot, tmp_path, tiny_model):
    settings_path = tmp_path / "lab.ini"
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    settings.setValue("session/autosave_folder", str(tmp_path / "autosave"))
    settings.setValue("models/last", str(tiny_model))
    settings.sync()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(settings_path), str(real_data() / "TEST_SIMPLE" / "MONOCYTE")],
        stdout=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).parents[2],
    )
    assert process.stdout.readline().strip() == b"decided"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    assert (tmp_path / "autosave" / "autosave.bcsession").is_file()

    main = MainWindow(QSettings(str(settings_path), QSettings.Format.IniFormat))
    qtbot.addWidget(main)
    answer(QMessageBox.StandardButton.Yes)
    main.show()
    main.start()
    qtbot.waitUntil(lambda: main.results is not None and len(main.results.session.rows) == 4, timeout=60_000)
    decided = [(row.verified, row.reviewed) for row in main.results.session.rows]
    assert sorted(decided, key=str).count((None, False)) <= 2  # at most the last decision is lost
    assert (0, True) in decided and (1, True) in decided
    assert main.sessions.unsaved_decisions
    main.sessions.unsaved_decisions = False
    main.close()


def test_a_new_version_of_a_signed_session_never_saved_keeps_the_signed_file(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from model.common.hashing import file_sha256
    from model.review.session_file import load_session

    window.threshold.setValue(0.0)  # nothing waits for review: the session can be signed
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    window.sessions.session.reviewer = "Ana"
    window.sessions.session.sign()
    assert window.sessions.session_path is None
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args, **kwargs: ("", "")))
    window.sessions.new_version()  # the technician cancels where to keep the signed version
    assert window.sessions.session.signed
    target = tmp_path / "signed.bcsession"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args, **kwargs: (str(target), "")))
    window.sessions.new_version()
    assert load_session(target).signed
    assert not window.sessions.session.signed and window.sessions.session.parent["sha256"] == file_sha256(target)


def test_a_second_window_never_touches_the_first_ones_autosave_or_verified_cells(qtbot, window, tmp_path):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    window.sessions.session.sample.sample_id = "S-9"
    window.sessions.changed(decision=False)  # autosaved in the background
    assert window.sessions.wait_for_writes()
    autosave = window.sessions.autosave_path()
    assert autosave is not None and autosave.is_file()
    second = MainWindow(QSettings(str(tmp_path / "second.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    assert (
        second.sessions.autosave_path() is None and second.verified_cells.verified.path is None
    )  # the first window owns them
    assert not second.sessions.offer_recovery()  # it is not the second window's to recover
    qtbot.waitUntil(lambda: "Another BloodCell window" in second.last_error, timeout=5_000)  # said once
    second.sessions.unsaved_decisions = False
    second.close()
    assert autosave.is_file()  # a clean close of the second leaves the first's autosave
    window.sessions.unsaved_decisions = False
    window.close()
    third = MainWindow(QSettings(str(tmp_path / "third.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(third)
    assert third.sessions.autosave_path() == autosave  # the first closed: the next window owns them
    third.sessions.unsaved_decisions = False
    third.close()
