"""Small screens, table columns and the small things around a drop."""

import shutil

from helpers import CLASSES, real_data
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFont, QFontMetricsF
from PySide6.QtWidgets import QApplication
from qt_helpers import classify_and_wait

from bloodcell_gui.heatmap import ConfusionHeatmap


def test_the_window_fits_a_1024_pixel_screen(window):
    assert window.minimumSizeHint().width() <= 1024
    window.resize(1024, 700)
    assert window.width() == 1024


def test_heatmap_numbers_are_never_clipped_and_share_one_form(qtbot):
    heatmap = ConfusionHeatmap()
    qtbot.addWidget(heatmap)
    heatmap.set_data(CLASSES, [[45, 3, 0, 2], [0, 620, 0, 0], [1, 0, 465, 155], [38, 0, 0, 586]])
    for width, height in ((520, 480), (260, 240), (180, 170), (90, 90)):
        heatmap.resize(width, height)
        font = heatmap._label_font()
        texts = heatmap.cell_texts(font)
        bold = QFont(font)
        bold.setBold(True)
        metrics = QFontMetricsF(bold)
        flat = [t for row in texts for t in row]
        for i in range(4):
            for j in range(4):
                assert heatmap._fits(metrics, heatmap.cell_rect(i, j), texts[i][j]) or texts[i][j] == ""
        forms = {"\n" in t for t in flat}, {t.endswith("%") for t in flat if "\n" not in t}
        assert len(forms[0]) == 1 and len(forms[1]) <= 1, texts  # one form in every cell


def test_the_table_shows_what_a_technician_reads_first(qtbot, window):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    header = window.table.horizontalHeader()
    titles = [
        window.results.headerData(header.logicalIndex(v), Qt.Orientation.Horizontal) for v in range(header.count())
    ]
    assert titles[:6] == ["File", "Predicted", "Confidence", "Verified", "True class", "Status"]
    window.tabs.setCurrentWidget(window.table)
    window.resize(1366, 768)
    visible = window.table.viewport().width()
    assert sum(window.table.columnWidth(header.logicalIndex(v)) for v in range(6)) <= visible
    assert window.results.data(window.results.index(0, 0), Qt.ItemDataRole.DecorationRole) is None


def test_drops_are_copies_with_a_highlight_and_non_images_are_listed(qtbot, window, tmp_path):
    folder = tmp_path / "drop"
    shutil.copytree(real_data() / "TEST_SIMPLE" / "MONOCYTE", folder)
    (folder / "notes.txt").write_text("slide 14")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    enter = QDragEnterEvent(
        QPoint(50, 50),
        Qt.DropAction.MoveAction | Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted() and enter.dropAction() == Qt.DropAction.CopyAction
    assert window.center_stack.property("dropTarget") is True
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.MoveAction | Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.classificationFinished, timeout=60_000):
        QApplication.sendEvent(window, drop)
    assert drop.dropAction() == Qt.DropAction.CopyAction and window.center_stack.property("dropTarget") is False
    assert "notes.txt" in window.progress_label.text() and window.results.session.failed == []
    counts = window.results.session.counts()
    biggest = max(range(4), key=counts.__getitem__)
    window.summary.filter_class(biggest)
    assert f"({counts[biggest]} images)" in window.filter_label.text()
    window.clear_results()
    assert window.progress_label.text() == "" and not window.filter_bar.isVisibleTo(window)


def test_a_failed_export_folder_is_not_offered_again(qtbot, window, tmp_path, monkeypatch):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    good = tmp_path / "good"
    good.mkdir()
    assert window.exports.export_csv(good / "a.csv")
    window.store.remember_folder("exports", good)
    bad = tmp_path / "missing" / "b.csv"
    monkeypatch.setattr("bloodcell_gui.export_controller.QFileDialog.getSaveFileName", lambda *a, **k: (str(bad), ""))
    window.exports.export_csv_dialog()
    assert window.store.folder("exports") == str(good)
