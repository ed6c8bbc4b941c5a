"""Adapting to the lab, end to end with real events: review with keys, restart, adapt, compare,
save, switch, classify again."""

from __future__ import annotations

import pytest
from helpers import CLASSES, real_data
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from qt_helpers import answer_next_question, classify_and_wait

from bloodcell_gui.main_window import MainWindow
from bloodcell_gui.model_info import model_info_html
from model.common.hashing import file_sha256
from model.modelfile.torch_file import read_info


def lab_folder(target, per_class: int):
    """A class-per-folder tree of another lab's real cells."""
    for name in CLASSES:
        (target / name).mkdir(parents=True)
        for file in sorted((real_data().parent / "pbc" / name).iterdir())[:per_class]:
            (target / name / file.name).symlink_to(file)
    return target


@pytest.mark.slow
def test_verified_cells_outlive_the_window_and_adapt_the_model(qtbot, window, tiny_model, tmp_path):
    window.threshold.setValue(1.0)  # every image goes to the review bin
    classify_and_wait(qtbot, window, [lab_folder(tmp_path / "lab", per_class=6)])
    window.tabs.setCurrentWidget(window.review_view)
    view = window.review_view
    view.setFocus()
    view.setCurrentIndex(window.review_filter.index(0, 0))
    while window.review_filter.rowCount():
        row = window.results.row(window.current_row())
        QTest.keyClick(view, Qt.Key(Qt.Key.Key_1 + row.truth))  # the technician's class, by key
    assert window.verified_cells.verified.counts(CLASSES) == dict.fromkeys(CLASSES, 6)

    # Clearing a decision (0) takes the cell out of the verified list again.
    window.tabs.setCurrentWidget(window.table)
    window.table.setFocus()
    window.table.selectRow(0)
    QTest.keyClick(window.table, Qt.Key.Key_0)
    assert sum(window.verified_cells.verified.counts(CLASSES).values()) == 23

    window.sessions.unsaved_decisions = False
    window.close()
    again = MainWindow(window.settings)
    qtbot.addWidget(again)
    again.show()
    again.start()
    qtbot.waitUntil(lambda: again.loaded is not None, timeout=60_000)
    assert sum(again.verified_cells.verified.counts(CLASSES).values()) == 23  # kept across the restart

    listing = again.verified_cells.show_verified_cells()
    assert listing.table.rowCount() == 23
    listing.table.selectRow(0)
    answer_next_question("&No")  # removal asks first: No keeps the cell
    qtbot.mouseClick(listing.remove_button, Qt.MouseButton.LeftButton)
    assert listing.table.rowCount() == 23
    answer_next_question("&Yes")
    qtbot.mouseClick(listing.remove_button, Qt.MouseButton.LeftButton)
    assert listing.table.rowCount() == 22 and sum(again.verified_cells.verified.counts(CLASSES).values()) == 22
    assert listing.export_to(tmp_path / "exported") == 22
    listing.close()

    dialog = again.verified_cells.open_adapt_dialog()
    assert dialog.start_button.isEnabled(), dialog.warning.text()
    (source,) = [dialog.sources.item(i) for i in range(dialog.sources.count())]  # the one session's sample
    source.setCheckState(Qt.CheckState.Unchecked)  # learn from no sample: nothing to adapt on
    assert not dialog.start_button.isEnabled() and dialog.cells == []
    source.setCheckState(Qt.CheckState.Checked)
    assert dialog.start_button.isEnabled() and len(dialog.cells) == 22
    dialog.epochs.setValue(1)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.stop_button.isEnabled() and not dialog.save_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.runner.running, timeout=300_000)
    assert dialog.adaptation is not None, dialog.error.text()
    held = sum(dialog.adaptation.held_back.values())
    assert held >= 4 and sum(map(sum, dialog.before_map.matrix)) == sum(map(sum, dialog.after_map.matrix)) == held
    assert f"On {held} held-back cells" in dialog.result.text()

    target = tmp_path / "adapted.safetensors"
    dialog.path.setText(str(target))
    dialog.use_now.setChecked(True)
    with qtbot.waitSignal(again.modelLoaded, timeout=60_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert again.loaded.path == target
    (step,) = read_info(target).adaptations
    assert step["parent_sha256"] == file_sha256(tiny_model) and sum(step["cells_per_class"].values()) == 22 - held
    assert "Adaptation 1" in model_info_html(again.loaded.classifier.info, target, again.loaded.sha256)

    classify_and_wait(qtbot, again, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    rows = again.results.session.rows
    assert rows and all(row.model.sha256 == file_sha256(target) for row in rows)
    again.sessions.unsaved_decisions = False
    again.close()


def test_adapting_is_refused_with_the_reason_when_cells_are_too_few(qtbot, window):
    dialog = window.verified_cells.open_adapt_dialog()
    assert not dialog.start_button.isEnabled()
    assert "at least 4 verified cells" in dialog.warning.text()


def test_a_damaged_list_of_verified_cells_is_set_aside_and_said(qtbot, tmp_path, own_autosave_folder):
    own_autosave_folder.mkdir(parents=True)
    (own_autosave_folder / "verified-cells.json").write_text("{broken", encoding="ascii")
    main = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(main)
    assert "verified-cells.json" in main.last_error and "kept as" in main.last_error
    (aside,) = [path for path in own_autosave_folder.iterdir() if path.name != "instance.lock"]
    assert aside.name.startswith("verified-cells.damaged-") and aside.read_text(encoding="ascii") == "{broken"
    assert main.verified_cells.verified.entries == {}
    main.sessions.unsaved_decisions = False
    main.close()
