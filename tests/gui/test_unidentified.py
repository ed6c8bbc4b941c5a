"""The Unidentified bin, driven with real events: what the model does not know is kept out of the
differential until a technician gives it a class, and the detail view says why."""

import pytest
import torch
from helpers import CLASSES, real_data, seed_model_file
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from qt_helpers import classify_and_wait

from bloodcell_gui.main_window import MainWindow
from model.common.task import TaskState
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import load, save
from model.training.calibrate import reference_statistics
from model.unfamiliar.statistics import NO_LEUKOCYTE


@pytest.fixture
def calibrated_window(qtbot, tmp_path, tiny_model, monkeypatch):
    loaded = load(tiny_model)
    # At least the 40 pictures to fit and 20 held out every calibration needs (model.training.calibrate).
    cells = sorted((real_data() / "TEST_SIMPLE").glob("*/*.jpeg"))
    more = sorted((real_data() / "TEST").glob("*/*.jpeg"))[::120]
    fit = [(path, CLASSES.index(path.parent.name)) for path in [*cells[::2], *more]]
    references = reference_statistics(open_classifier(loaded, "cpu"), fit, cells[1::2], TaskState())
    model = save(tmp_path / "calibrated.safetensors", loaded.module, loaded.info, references=references)
    monkeypatch.setenv("BLOODCELL_DEFAULT_MODEL", str(model))
    main = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(main)
    main.show()
    main.start()
    qtbot.waitUntil(lambda: main.loaded is not None, timeout=60_000)
    yield main
    main.sessions.unsaved_decisions = False
    main.close()


def test_unidentified_images_wait_for_a_class_and_say_why(qtbot, calibrated_window, tmp_path):
    window = calibrated_window
    blanks = tmp_path / "blanks"
    blanks.mkdir()
    for index, tone in enumerate([(240, 240, 240), (230, 200, 210), (200, 200, 200)]):
        Image.new("RGB", (320, 240), tone).save(blanks / f"blank{index}.png")
    cells = real_data() / "TEST_SIMPLE" / "LYMPHOCYTE"
    classify_and_wait(qtbot, window, [blanks, cells])
    session = window.results.session
    flagged = [row for row in session.rows if row.unidentified]
    assert {row.path.name for row in flagged} >= {"blank0.png", "blank1.png", "blank2.png"}
    assert sum(session.counts()) == session.classified - len(flagged)
    tab = window.tabs.indexOf(window.unidentified_view)
    assert window.tabs.tabText(tab) == f"Unidentified ({len(flagged)})"
    assert f"{len(flagged)} unidentified" in window.totals.text()

    window.tabs.setCurrentIndex(tab)
    view = window.unidentified_view
    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    first = window.results.row(window.current_row())
    assert "Unidentified:" in window.detail.verdict.text()
    if first.path.name.startswith("blank"):
        assert NO_LEUKOCYTE in window.detail.verdict.text()
    QTest.keyClick(view, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: window.tabs.tabText(tab) == f"Unidentified ({len(flagged) - 1})", timeout=5_000)
    assert first.verified == 0 and not first.unidentified
    assert sum(session.counts()) == session.classified - len(flagged) + 1


@pytest.mark.slow
def test_the_familiar_share_setting_moves_the_threshold_and_is_remembered(qtbot, calibrated_window, tmp_path):
    window = calibrated_window
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "NEUTROPHIL"])
    rows = window.results.session.rows
    strict = window.loaded.classifier.threshold(0.80)
    window.familiar_share.setValue(80.0)
    assert all(row.unfamiliar_threshold == pytest.approx(strict) for row in rows if row.ok)
    window.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert float(settings.value("review/familiar_share")) == pytest.approx(0.80)


def test_a_model_without_statistics_shows_the_check_as_unavailable(qtbot, window):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    assert "unidentified: not available" in window.totals.text()
    assert not window.familiar_share.isEnabled()
    assert window.results.session.unidentified_count == 0


@pytest.mark.slow
def test_many_unfamiliar_cells_suggest_matching_the_model_to_the_lab(qtbot, calibrated_window, tmp_path):
    from conftest import link_subset
    from helpers import pbc_data

    from bloodcell_gui.match_lab_dialog import MatchLabDialog

    window = calibrated_window
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE"])  # its own lab, and 71 images: too few to judge
    assert window.lab_hint.isHidden()
    # the tiny model's statistics come from blood-cells cells: the pbc lab's pictures are new to it
    classify_and_wait(qtbot, window, [link_subset(pbc_data(), tmp_path / "pbc", per_class=30)])
    found = window.results.session.another_lab()
    assert found is not None and found.judged >= 100
    assert window.lab_hint.isVisible()
    assert f"{found.unlike} of {found.judged} images" in window.lab_hint.text()
    window.lab_hint.linkActivated.emit("match")  # the link: Qt's own signal, as a click on it sends
    qtbot.waitUntil(lambda: window.findChild(MatchLabDialog) is not None, timeout=5_000)
    dialog = window.findChild(MatchLabDialog)
    session_pictures = {row.path for row in window.results.session.rows if row.ok}
    assert dialog.isVisible() and set(dialog.paths) == session_pictures and len(session_pictures) > 150
    dialog.reject()


def test_a_model_normalised_per_picture_is_offered_adapting_not_matching(qtbot, window, tmp_path):
    from bloodcell_gui.adapt_dialog import AdaptDialog
    from model.unfamiliar.statistics import AnotherLab

    assert window.match_lab_action.isEnabled()  # the BatchNorm seed: its statistics can move
    torch.manual_seed(0)
    path = tmp_path / "instance.safetensors"
    seed_model_file(path, arch="seed-deep-instance")
    window.load_model(path)
    qtbot.waitUntil(lambda: window.loaded.path == path, timeout=30_000)
    assert not window.match_lab_action.isEnabled()  # nothing to move: no dead end offered
    window.summary.show_lab_hint(AnotherLab(unlike=60, judged=100, expected_share=0.04, low=0.5, high=0.7))
    assert "Adapt the model from cells verified here" in window.lab_hint.text()
    assert "Match" not in window.lab_hint.text()
    window.lab_hint.linkActivated.emit("adapt")  # as a click on the link sends it
    qtbot.waitUntil(lambda: window.findChild(AdaptDialog) is not None, timeout=5_000)
    dialog = window.findChild(AdaptDialog)
    assert dialog.isVisible()
    dialog.reject()


def test_the_detail_view_says_why_an_ensemble_that_disagrees_needs_review():
    from pathlib import Path

    from bloodcell_gui.detail import verdict_html
    from model.review.session import ImageRow
    from model.unfamiliar.statistics import NETWORKS_DISAGREE

    row = ImageRow(Path("x.jpg"), (0.6, 0.4, 0.0, 0.0), unfamiliarity=0.5, unfamiliar_threshold=1.0)
    assert "Review:" not in verdict_html(CLASSES, row)
    row.networks_agree = False
    text = verdict_html(CLASSES, row)
    assert f"Review: {NETWORKS_DISAGREE.replace(chr(39), '&#x27;')}" in text and "Unidentified" not in text
    row.reviewed = True
    assert f"Reviewed: {NETWORKS_DISAGREE.replace(chr(39), '&#x27;')}" in verdict_html(CLASSES, row)


@pytest.mark.slow
def test_a_few_images_from_a_new_lab_all_wait_for_review_and_the_report_says_provisional(
    qtbot, calibrated_window, tmp_path
):
    from conftest import link_subset
    from helpers import pbc_data
    from pypdf import PdfReader

    window = calibrated_window
    classify_and_wait(qtbot, window, [link_subset(pbc_data(), tmp_path / "pbc", per_class=3)])
    session = window.results.session
    found = session.another_lab()
    assert found is not None and found.judged <= 12  # no minimum count any more
    waiting = [row for row in session.rows if row.ok and not row.unidentified]
    assert session.review_count == len(waiting) > 0
    assert window.differential_box.title() == "Differential (provisional)"
    assert window.lab_hint.isVisible() and "could be anywhere" in window.lab_hint.text()
    assert window.exports.export_pdf(tmp_path / "report.pdf")
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "report.pdf").pages)
    assert "Provisional" in text
