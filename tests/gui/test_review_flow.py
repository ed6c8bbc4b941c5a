"""Review a technician can trust, driven with real events: no double counts, results tied to
their model, keys that reach the review list, a flow that moves on after each decision."""

import csv

import pytest
import torch
from helpers import CLASSES, real_data, seed_model_file
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from qt_helpers import answer_next_question, classify_and_wait, drop

from model.images.preprocess import InputPolicy
from model.modelfile.torch_file import ModelInfo, save
from model.networks.build import build_model


@pytest.mark.slow
def test_reopening_a_folder_never_changes_the_counts(qtbot, window):
    folder = real_data() / "TEST"
    with qtbot.waitSignal(window.classificationFinished, timeout=300_000):
        drop(window, [folder])
        qtbot.waitUntil(lambda: window.results.rowCount() > 0, timeout=60_000)
        window.cancel_button.click()
    partial = window.results.rowCount()
    assert 0 < partial < 2487
    assert "Cancelled" in window.progress_label.text() and f"{partial} classified" in window.progress_label.text()
    classify_and_wait(qtbot, window, [folder], timeout=600_000)
    counts = window.results.session.counts()
    total = window.results.rowCount()
    assert f"{partial} skipped: already in the results" in window.progress_label.text()
    classify_and_wait(qtbot, window, [folder, folder / "MONOCYTE"], timeout=600_000)
    assert window.results.rowCount() == total and window.results.session.counts() == counts
    assert len({row.path for row in window.results.session.rows}) == total


def test_switching_models_reclassifies_or_starts_anew_and_exports_name_each_rows_model(
    qtbot, window, tiny_model, tmp_path
):
    folder = real_data() / "TEST_SIMPLE" / "MONOCYTE"
    classify_and_wait(qtbot, window, [folder])
    window.tabs.setCurrentWidget(window.table)
    window.table.selectRow(0)
    QTest.keyClick(window.table, Qt.Key.Key_2)
    kept = window.results.row(0)
    torch.manual_seed(11)
    other = save(
        tmp_path / "other.safetensors",
        build_model("seed", 4),
        ModelInfo("seed", CLASSES, InputPolicy(32, 32), name="other model"),
    )

    answer_next_question("Classify them again")
    with qtbot.waitSignal(window.classificationFinished, timeout=120_000):
        window.load_model(other)
    rows = window.results.session.rows
    assert len(rows) == 4 and {row.model.name for row in rows} == {"other model"}
    assert window.results.row(0).verified == kept.verified == 1  # the technician's class is kept
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "LYMPHOCYTE"])
    out = tmp_path / "mixed.csv"
    assert window.exports.export_csv(out)
    assert {r["model"] for r in csv.DictReader(out.open(encoding="utf-8"))} == {"other model"}

    answer_next_question("Start a new set")
    window.load_model(tiny_model)
    qtbot.waitUntil(lambda: window.loaded.path == tiny_model, timeout=60_000)
    assert window.results.rowCount() == 0
    classify_and_wait(qtbot, window, [folder])
    answer_next_question("Keep the current model")
    window.load_model(other)
    qtbot.waitUntil(lambda: not window.models.loading, timeout=60_000)
    qtbot.wait(100)
    assert window.loaded.path == tiny_model and window.results.rowCount() == 4


def test_a_session_with_two_models_says_so_in_the_report_and_per_row(qtbot, window, tmp_path):
    from bloodcell_gui.report import report_html
    from model.review.session import ModelIdentity

    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    window.results.session.rows[0].model = ModelIdentity("older model", "f" * 64)
    out = tmp_path / "two.csv"
    assert window.exports.export_csv(out)
    models = [r["model"] for r in csv.DictReader(out.open(encoding="utf-8"))]
    assert models.count("older model") == 1 and models.count("tiny test model") == 3
    html = report_html(window.results.session, "tiny test model", "a" * 64, __import__("datetime").datetime.now())
    assert "classified by 2 different models" in html and "older model" in html


def test_keys_reach_the_review_list_after_a_run_and_after_cancel(qtbot, window):
    window.threshold.setValue(0.99)
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "NEUTROPHIL"])
    assert QApplication.focusWidget() is window.current_view()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_0)
    assert window.threshold.value() == 0.99
    assert window.threshold.focusPolicy() == Qt.FocusPolicy.ClickFocus
    with qtbot.waitSignal(window.classificationFinished, timeout=300_000):
        drop(window, [real_data() / "TEST"])
        qtbot.waitUntil(lambda: window.cancel_button.isVisible(), timeout=60_000)
        window.cancel_button.setFocus()
        QTest.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() is window.current_view()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_0)
    assert window.threshold.value() == 0.99


def test_time_left_is_shown_only_once_it_means_something(qtbot):
    from PySide6.QtCore import QObject

    from bloodcell_gui.classification_queue import ClassificationQueue
    from model.evaluation.classify_job import ClassifiedBatch

    owner = QObject()
    queue = ClassificationQueue(parent=owner)
    words = []
    queue.progressChanged.connect(lambda done, total, text: words.append(text))
    queue._batch_ready(ClassifiedBatch([], done=20, total=2000, elapsed=1.0), None, False)
    queue._batch_ready(ClassifiedBatch([], done=400, total=2000, elapsed=8.0), None, False)
    assert "estimating time left" in words[0] and "left" in words[1] and "estimating" not in words[1]


def test_a_folder_opened_before_the_model_is_ready_says_it_waits(qtbot, tmp_path, tiny_model, monkeypatch):
    from PySide6.QtCore import QSettings

    from bloodcell_gui.main_window import MainWindow

    monkeypatch.setenv("BLOODCELL_DEFAULT_MODEL", str(tiny_model))
    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.classify([real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    assert "waiting for the model" in window.progress_label.text() and window.progress_label.isVisible()
    with qtbot.waitSignal(window.classificationFinished, timeout=120_000):
        window.start()
    assert window.results.session.classified == 4
    window.close()


def test_each_decision_selects_the_next_image_in_the_bin_and_clearing_undoes_it(qtbot, window):
    window.threshold.setValue(1.0)  # every image to review
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "EOSINOPHIL"])
    window.tabs.setCurrentWidget(window.review_view)
    view = window.review_view
    view.setFocus()
    view.setCurrentIndex(window.review_filter.index(0, 0))
    in_bin = window.review_filter.rowCount()
    first = window.current_row()
    QTest.keyClick(view, Qt.Key.Key_1)
    assert window.review_filter.rowCount() == in_bin - 1
    second = window.current_row()
    assert second is not None and second != first and window.selected_rows() == [second]
    assert window.detail.title.text().startswith(f"<b>{window.results.row(second).path.name}")
    QTest.keyClick(view, Qt.Key.Key_R)
    assert window.results.row(second).reviewed and window.review_filter.rowCount() == in_bin - 2
    assert window.current_row() not in (first, second)

    window.tabs.setCurrentWidget(window.table)
    window.table.setFocus()
    window.table.selectRow(
        next(
            i
            for i in range(window.table_filter.rowCount())
            if window.table_filter.mapToSource(window.table_filter.index(i, 0)).row() == first
        )
    )
    QTest.keyClick(window.table, Qt.Key.Key_0)
    row = window.results.row(first)
    assert row.verified is None and not row.reviewed and window.results.session.needs_review(row)
    assert window.review_filter.rowCount() == in_bin - 1


@pytest.mark.slow
def test_a_tab_opens_with_its_first_row_selected_and_the_first_key_acts_on_what_is_shown(qtbot, window):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE"])
    tab_bar = window.tabs.tabBar()
    review_tab = window.tabs.indexOf(window.review_view)
    QTest.mouseClick(tab_bar, Qt.MouseButton.LeftButton, pos=tab_bar.tabRect(review_tab).center())
    assert window.tabs.currentWidget() is window.review_view
    assert window.review_view.currentIndex().isValid() and window.selected_rows() == [window.current_row()]
    shown = window.results.row(window.current_row())
    assert shown.path.name in window.detail.title.text()
    assert QApplication.focusWidget() is window.review_view
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_2)
    assert shown.verified == 1 and shown.reviewed


def test_the_detail_pane_never_shows_a_row_that_is_gone(qtbot, window):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    window.tabs.setCurrentWidget(window.table)
    window.table.setCurrentIndex(window.table.model().index(0, 0))
    assert window.detail.title.text()
    window.sessions.start_session(type(window.results.session)(classes=window.results.classes))  # a new set
    qtbot.waitUntil(lambda: window.detail.title.text() == "", timeout=5_000)


def test_switching_models_keeps_truth_marks_provenance_and_the_sample(qtbot, window, tmp_path):
    from conftest import link_subset

    from model.review.audit import CLASSIFIED, NEW_SET

    folder = link_subset(real_data() / "TEST_SIMPLE", tmp_path / "truth", per_class=1)  # class folders: truth
    classify_and_wait(qtbot, window, [folder])
    session = window.results.session
    session.sample.sample_id, session.reviewer = "S-5", "Ana"
    window.tabs.setCurrentWidget(window.table)
    window.table.setFocus()
    window.table.selectRow(0)
    QTest.keyClick(window.table, Qt.Key.Key_2)  # a class
    window.table.selectRow(1)
    QTest.keyClick(window.table, Qt.Key.Key_R)  # a review mark
    decided = {i: (row.verified, row.reviewed, row.decided_by, row.decided_at) for i, row in enumerate(session.rows)}
    truths = [row.truth for row in session.rows]
    torch.manual_seed(12)
    other = seed_model_file(tmp_path / "other.safetensors", size=(32, 32))
    answer_next_question("Classify them again")
    with qtbot.waitSignal(window.classificationFinished, timeout=120_000):
        window.load_model(other)
    session = window.results.session
    assert [row.truth for row in session.rows] == truths and None not in truths  # the folder's classes
    for i, row in enumerate(session.rows):
        assert (row.verified, row.reviewed, row.decided_by, row.decided_at) == decided[i]
    assert session.audit[-1].event == CLASSIFIED and session.audit[-1].details["decisions_carried_over"] == 2
    assert window.heatmap.isVisible() and window.results.session.evaluation() is not None

    answer_next_question("Start a new set")
    window.load_model(tmp_path / "other.safetensors")
    qtbot.waitUntil(lambda: window.results.rowCount() == 0, timeout=60_000)
    session = window.results.session
    assert (session.sample.sample_id, session.reviewer) == ("S-5", "Ana")
    assert session.audit[-1].event == NEW_SET and session.audit[-1].details["images_set_aside"] == 4
    assert any(entry.event == CLASSIFIED for entry in session.audit)  # the trail continues
