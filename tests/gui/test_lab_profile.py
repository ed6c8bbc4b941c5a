"""A lab whose camera is known fixes its magnification once (Session › Lab magnification…);
sessions then frame their pictures at it instead of measuring each batch, and say so."""

from __future__ import annotations

import pytest
from helpers import real_data
from PySide6.QtWidgets import QInputDialog
from qt_helpers import classify_and_wait


@pytest.mark.slow
def test_a_fixed_lab_magnification_frames_the_session_and_is_said(qtbot, window, monkeypatch):
    answers = iter([("1.8", True), ("forty", True), ("9", True)])
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *args, **kwargs: next(answers)))
    window.sessions.edit_lab_magnification()
    assert window.store.lab_magnification() == 1.8
    for refused in ("forty", "9"):  # not a number; outside 0.3 to 3
        window.sessions.edit_lab_magnification()
        assert repr(refused) in window.last_error
        assert window.store.lab_magnification() == 1.8

    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    magnification = window.results.session.magnification
    assert magnification is not None and magnification.factor == 1.8 and magnification.pictures == 0
    assert "×1.80" in window.totals.text() and "set by hand" in window.totals.toolTip()
    window.sessions.unsaved_decisions = False


@pytest.mark.slow
def test_auto_measures_each_batch_again(qtbot, window, monkeypatch):
    window.store.set_lab_magnification(1.8)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *args, **kwargs: ("auto", True)))
    window.sessions.edit_lab_magnification()
    assert window.store.lab_magnification() is None
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    magnification = window.results.session.magnification
    assert magnification is None or magnification.pictures > 0  # measured (or too few to measure)
    window.sessions.unsaved_decisions = False
