"""Model › Match this lab's images…, with real events: the session's images measured, the new
model saved, switched to, and its step shown in the model information."""

from __future__ import annotations

import pytest
from helpers import CLASSES, real_data
from PySide6.QtCore import Qt
from qt_helpers import answer_next_question, classify_and_wait

from bloodcell_gui import match_lab_dialog
from bloodcell_gui.model_info import model_info_html
from model.adaptation import lab_statistics
from model.common.hashing import file_sha256
from model.modelfile.torch_file import read_info


def lab_images(target, per_class: int):
    target.mkdir()
    for name in CLASSES:
        for file in sorted((real_data().parent / "pbc" / name).iterdir())[:per_class]:
            (target / file.name).symlink_to(file)
    return target


@pytest.mark.slow
def test_the_session_images_match_the_model_which_is_saved_and_used(qtbot, window, tiny_model, tmp_path):
    classify_and_wait(qtbot, window, [lab_images(tmp_path / "lab", per_class=27)])
    action = window.match_lab_action
    action.trigger()
    dialog = next(d for d in window.findChildren(match_lab_dialog.MatchLabDialog) if d.isVisible())
    assert "108 images of this session" in dialog.intro.text() and "500 or more" in dialog.warning.text()
    assert not dialog.save_button.isEnabled()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.runner.running, timeout=120_000)
    assert dialog.match is not None, dialog.error.text()
    assert "Measured on 108 images" in dialog.status.text() and dialog.save_button.isEnabled()

    dialog.path.setText(str(tiny_model))  # the model in use is never overwritten
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "is the model in use" in dialog.error.text() and dialog.isVisible()

    target = tmp_path / "matched.safetensors"
    dialog.path.setText(str(target))
    answer_next_question("Classify them again")  # the session's images, now with the matched model
    with qtbot.waitSignal(window.modelLoaded, timeout=60_000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert window.loaded.path == target
    matched = file_sha256(target)
    qtbot.waitUntil(lambda: all(row.model.sha256 == matched for row in window.results.session.rows), timeout=120_000)
    (step,) = read_info(target).adaptations
    assert step["kind"] == "lab statistics" and step["images"] == 108
    assert step["parent_sha256"] == file_sha256(tiny_model)
    html = model_info_html(window.loaded.classifier.info, target, window.loaded.sha256)
    assert "BatchNorm statistics re-measured" in html and "108 (0 left out)" in html


def test_too_few_images_are_refused_with_the_reason(qtbot, window):
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    dialog = window.verified_cells.open_match_lab_dialog()
    assert not dialog.start_button.isEnabled()
    assert f"At least {lab_statistics.MIN_IMAGES} images" in dialog.warning.text()


def test_the_dialog_words_the_engine_limits():
    assert match_lab_dialog.MIN_IMAGES == lab_statistics.MIN_IMAGES
    assert match_lab_dialog.SUGGESTED_IMAGES == lab_statistics.SUGGESTED_IMAGES
