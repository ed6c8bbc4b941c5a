import csv
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from helpers import CLASSES, real_data
from pypdf import PdfReader
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from qt_helpers import classify_and_wait, drop

from model.common.hashing import file_sha256


def cli_csv(paths, model, tmp_path) -> Path:
    out = tmp_path / "cli.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bloodcell_gui.entry",
            "classify",
            *map(str, paths),
            "--model",
            str(model),
            "--csv",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return out


def cli_rows_once_per_picture(paths, model, tmp_path) -> list[dict]:
    """The CLI's rows, less files whose content repeats an earlier file's (TEST_SIMPLE holds two
    byte-identical pairs): the CLI lists every file, the window counts every picture once."""
    seen, rows = set(), []
    for row in csv.DictReader(cli_csv(paths, model, tmp_path).open(encoding="utf-8")):
        digest = file_sha256(row["path"])
        if digest not in seen:
            seen.add(digest)
            rows.append(row)
    return rows


def cli_counts(paths, model, tmp_path) -> Counter:
    return Counter(row["predicted"] for row in cli_rows_once_per_picture(paths, model, tmp_path) if row["predicted"])


@pytest.mark.slow
def test_dropping_test_simple_gives_the_clis_counts_and_a_heatmap(qtbot, window, tiny_model, tmp_path):
    folder = real_data() / "TEST_SIMPLE"
    classify_and_wait(qtbot, window, [folder])
    session = window.results.session
    assert session.classified == 69  # 71 files, two of them byte-identical copies of two others
    assert "2 skipped: already in the results" in window.progress_label.text()
    gui = dict(zip(CLASSES, session.counts(), strict=True))
    assert gui == {c: cli_counts([folder], tiny_model, tmp_path).get(c, 0) for c in CLASSES}
    assert window.differential.counts == session.counts()
    evaluation = session.evaluation()
    assert evaluation is not None and evaluation.total == 69
    assert window.heatmap.matrix == evaluation.confusion.tolist()
    assert f"{evaluation.accuracy:.1%}" in window.accuracy.text()
    assert "tiny test model" in window.model_label.text() and "50.0%" in window.model_label.text()
    assert "CPU" in window.device_label.text()


@pytest.mark.slow
def test_the_gui_export_and_the_cli_csv_are_the_same_file(qtbot, window, tiny_model, tmp_path):
    folder = real_data() / "TEST_SIMPLE"
    classify_and_wait(qtbot, window, [folder])
    gui = tmp_path / "gui.csv"
    assert window.exports.export_csv(gui)
    gui_header, *gui_rows = list(csv.reader(gui.open(encoding="utf-8")))
    cli_rows = cli_rows_once_per_picture([folder], tiny_model, tmp_path)
    assert gui_header == list(cli_rows[0])
    assert len(gui_rows) == 69 and sorted(gui_rows) == sorted(list(row.values()) for row in cli_rows)
    assert {row[gui_header.index("true_class")] for row in gui_rows} == set(CLASSES)
    titles = [window.results.headerData(i, Qt.Orientation.Horizontal) for i in range(window.results.columnCount())]
    assert titles == ["File", "Predicted", "Confidence", *CLASSES, "Unfamiliarity", "Verified", "True class", "Status"]


def test_a_mixed_folder_lists_bad_files_with_reasons_and_no_dialog(qtbot, window, bad_corpus):
    folder = next(iter(bad_corpus.values()))[0].parent
    classify_and_wait(qtbot, window, [folder])
    session = window.results.session
    expected_bad = {name for name, (_, ok) in bad_corpus.items() if not ok}
    assert {row.path.name for row in session.failed} == expected_bad
    pictures = {file_sha256(path) for path, ok in bad_corpus.values() if ok}
    assert session.classified == len(pictures)  # a link to a file already there is the same picture
    assert window.failed_filter.rowCount() == len(expected_bad)
    assert window.tabs.tabText(window.tabs.indexOf(window.failed_view)) == f"Unreadable ({len(expected_bad)})"
    assert all(row.error for row in session.failed)
    assert window.last_error == ""


def test_reclassify_review_and_export(qtbot, window, tmp_path):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    window.tabs.setCurrentWidget(window.table)
    window.table.selectRow(0)
    window.table.setFocus()
    row_index = window.selected_rows()[0]
    QTest.keyClick(window.table, Qt.Key.Key_3)  # the third class: MONOCYTE
    row = window.results.row(row_index)
    assert row.verified == 2 and row.reviewed
    window.table.selectRow(1)
    second = window.selected_rows()[0]
    QTest.keyClick(window.table, Qt.Key.Key_R)
    assert window.results.row(second).reviewed and window.results.row(second).verified is None
    verified_column = window.results.keys().index("verified")
    assert window.results.data(window.results.index(row_index, verified_column)) == "MONOCYTE"

    csv_path, pdf_path = tmp_path / "out.csv", tmp_path / "out.pdf"
    assert window.exports.export_csv(csv_path) and window.exports.export_pdf(pdf_path)
    rows = {r["path"]: r for r in csv.DictReader(csv_path.open(encoding="utf-8"))}
    exported = rows[str(row.path)]
    assert exported["verified"] == "MONOCYTE" and exported["reviewed"] == "yes"
    assert exported["model"] == "tiny test model" and len(exported["model_sha256"]) == 64
    assert {f"p_{c}" for c in CLASSES} <= set(exported)
    document = PdfReader(pdf_path)
    assert len(document.pages) == 1
    text = " ".join(unicodedata.normalize("NFKC", document.pages[0].extract_text()).split())
    assert "BloodCell differential" in text and "tiny test model" in text
    assert all(name in text for name in CLASSES)


def test_a_failed_export_leaves_the_previous_file(qtbot, window, tmp_path, monkeypatch):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    target = tmp_path / "out.csv"
    target.write_text("previous export\n")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("model.common.atomic.os.fsync", disk_full)
    assert not window.exports.export_csv(target)
    assert target.read_text() == "previous export\n"
    assert "No space left" in window.last_error
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


@pytest.mark.slow
def test_clicking_a_heatmap_cell_filters_the_views(qtbot, window):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE"])
    matrix = window.heatmap.matrix
    true_index, predicted_index = max(
        ((i, j) for i in range(4) for j in range(4)), key=lambda cell: matrix[cell[0]][cell[1]]
    )
    center = window.heatmap.cell_rect(true_index, predicted_index).center().toPoint()
    qtbot.mouseClick(window.heatmap, Qt.MouseButton.LeftButton, pos=center)
    assert window.grid_filter.rowCount() == matrix[true_index][predicted_index]
    assert window.table_filter.rowCount() == matrix[true_index][predicted_index]
    assert window.filter_bar.isVisibleTo(window)
    window.show_all.click()
    assert window.grid_filter.rowCount() == 69


@pytest.mark.slow
def test_clicking_a_class_in_the_differential_filters(qtbot, window):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE"])
    counts = window.results.session.counts()
    index = max(range(4), key=counts.__getitem__)
    qtbot.mouseClick(window.differential, Qt.MouseButton.LeftButton, pos=QPoint(50, 4 + 30 * index + 15))
    assert window.table_filter.rowCount() == counts[index]


@pytest.mark.slow
def test_cancel_keeps_the_results_so_far(qtbot, window):
    with qtbot.waitSignal(window.classificationFinished, timeout=300_000):
        drop(window, [real_data() / "TEST"])
        qtbot.waitUntil(lambda: window.results.rowCount() > 0, timeout=60_000)
        window.cancel_button.click()
    kept = window.results.rowCount()
    assert 0 < kept < 2487
    qtbot.wait(200)
    assert window.results.rowCount() == kept


def test_a_bad_model_file_leaves_the_current_model_loaded(qtbot, window, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x80\x04K\x01.")  # a pickle
    before = window.loaded
    window.load_model(bad)
    qtbot.waitUntil(lambda: not window.models.loading, timeout=60_000)
    assert window.loaded is before
    assert "broken.safetensors" in window.last_error and "pickle" in window.last_error
    assert "tiny test model" in window.model_label.text()


def test_settings_persist(qtbot, window, tiny_model):
    window.threshold.setValue(0.65)
    window.close()
    from bloodcell_gui.main_window import MainWindow

    again = MainWindow(window.settings)
    qtbot.addWidget(again)
    assert again.threshold.value() == pytest.approx(0.65)
    assert again.store.recent_models()[0] == str(tiny_model)


def test_dragging_thumbnails_onto_a_class_reclassifies_them(qtbot, window):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    proxy = window.grid_filter
    indexes = [proxy.index(0, 0), proxy.index(1, 0)]
    mime = proxy.mimeData(indexes)
    rows = proxy.source_rows(indexes)
    target = QPoint(60, 4 + 30 * 1 + 15)  # LYMPHOCYTE
    enter = QDragEnterEvent(
        target, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window.differential, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        QPointF(target), Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window.differential, event)
    assert all(window.results.row(r).verified == 1 for r in rows)
    qtbot.waitUntil(lambda: window.differential.counts[1] >= 2)


def test_model_information_shows_the_metadata(qtbot, window):
    from bloodcell_gui.model_info import ModelInfoDialog

    window.models.show_info()
    dialog = window.findChild(ModelInfoDialog)
    assert dialog is not None
    text = dialog.text.toPlainText()
    assert "tiny test model" in text and "EOSINOPHIL, LYMPHOCYTE, MONOCYTE, NEUTROPHIL" in text
    assert "80×60" in text and window.loaded.sha256 in text
    dialog.close()


def test_the_shipped_model_information_names_each_lab_and_its_figures(qtbot):
    from bloodcell_gui.model_info import ModelInfoDialog
    from model.common.resources import default_model_path
    from model.fileformat.header import read_info

    dialog = ModelInfoDialog(read_info(default_model_path()), default_model_path(), "0" * 64)
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    assert "Source 1" in text and "blood-cells/TRAIN" in text and "Source 2" in text and "pbc" in text
    assert "held out by name, never trained on" in text
    assert "valid, " in text and "pbc held-out 20 %: accuracy" in text and "balanced accuracy" in text
    info = read_info(default_model_path())
    if info.is_ensemble:  # each network's own validation figures, lab by lab
        assert all(f"Network {n}'s metrics" in text for n in range(1, len(info.members) + 1))
        assert text.count("valid, ") == sum(len(member.metrics["valid_by_source"]) for member in info.members)


def test_an_ensemble_loads_classifies_and_describes_each_network(qtbot, window, tiny_model, tmp_path):
    from bloodcell_gui.model_info import ModelInfoDialog
    from model.modelfile.ensemble import combine
    from model.modelfile.torch_file import save

    combined = combine([tiny_model, tiny_model], name="two tiny networks")
    path = save(tmp_path / "ensemble.safetensors", combined.module, combined.info)
    window.load_model(path)
    qtbot.waitUntil(lambda: not window.models.loading, timeout=60_000)
    assert window.loaded.path == path, window.last_error
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    assert window.results.session.classified == 4
    window.models.show_info()
    dialog = window.findChild(ModelInfoDialog)
    text = dialog.text.toPlainText()
    assert "an ensemble of 2 networks" in text
    assert "Network 1: tiny test model" in text and "Network 2: tiny test model" in text
    dialog.close()


def test_model_information_works_out_balanced_accuracy_from_a_recorded_confusion():
    from bloodcell_gui.html_tables import accuracy_words

    words = accuracy_words({"accuracy": 0.9, "confusion": [[90, 0], [10, 0]]})
    assert "balanced accuracy 50.0%" in words and "macro-F1" in words
    assert accuracy_words({"accuracy": 0.5, "confusion": [[1, 2, 3]]}) == "accuracy 50.0%"


@pytest.mark.slow
def test_a_long_comment_continues_on_a_second_page_and_direction_overrides_show(qtbot, window, tmp_path):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE"])
    window.sessions.session.sample.sample_id = "S-\u202e01"  # would show as "S-10" if obeyed
    window.sessions.session.sample.comments = " ".join(f"word{i}" for i in range(4000))
    pdf_path = tmp_path / "long.pdf"
    assert window.exports.export_pdf(pdf_path)
    document = PdfReader(pdf_path)
    assert len(document.pages) >= 2
    text = " ".join(unicodedata.normalize("NFKC", page.extract_text()) for page in document.pages)
    assert "word3999" in text  # nothing cut
    assert "Total" in text and all(name in text for name in CLASSES)  # the differential is all there
    assert "[U+202E]" in text
