"""Hostile inputs in the window: no hang, no uncaught exception, data shown as text, a dialog
for every failure."""

import csv
import json
import os
import shutil

import torch
from helpers import CLASSES, real_data
from PIL import Image
from PySide6.QtCore import Qt
from qt_helpers import classify_and_wait
from safetensors.torch import load_file, save_file

from model.images.preprocess import InputPolicy
from model.modelfile.torch_file import ModelInfo, read_info, save
from model.networks.build import build_model


def test_pipes_links_and_odd_names_in_a_dropped_folder(qtbot, window, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    for source in sorted((real_data() / "TEST_SIMPLE" / "MONOCYTE").iterdir()):
        shutil.copy(source, folder / source.name)
    os.mkfifo(folder / "pipe.jpg")
    (folder / "loop").symlink_to("..")
    Image.open(source).rotate(90).save(os.fsencode(folder) + b"/caf\xe9.jpeg", "JPEG")  # another picture
    classify_and_wait(qtbot, window, [folder], timeout=120_000)
    session = window.results.session
    assert session.classified == 5
    failed = {row.path.name: row.error for row in session.failed}
    assert "not a regular file" in failed["pipe.jpg"]
    assert len(session.rows) == 6  # the link up the tree listed nothing twice, and ended
    out = tmp_path / "out.csv"
    assert window.exports.export_csv(out), window.last_error
    assert "caf\\xe9.jpeg" in out.read_text(encoding="utf-8")
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 6


def test_names_with_markup_are_shown_as_text(qtbot, window, tmp_path):
    torch.manual_seed(0)
    name = "<b>bold</b> <img src=x>"
    path = save(
        tmp_path / "markup.safetensors",
        build_model("seed", 4),
        ModelInfo("seed", CLASSES, InputPolicy(32, 32), name=name),
    )
    window.load_model(path)
    qtbot.waitUntil(lambda: not window.models.loading and window.loaded.path == path, timeout=60_000)
    assert name in window.model_label.text()
    assert window.model_label.textFormat() == Qt.TextFormat.PlainText
    folder = tmp_path / "<i>folder"
    folder.mkdir()
    shutil.copy(next((real_data() / "TEST_SIMPLE" / "MONOCYTE").iterdir()), folder / "<b>x.jpeg")
    classify_and_wait(qtbot, window, [folder])
    window.tabs.setCurrentWidget(window.table)
    window.table.selectRow(0)
    assert "&lt;b&gt;x.jpeg" in window.detail.title.text()


def test_every_failed_model_load_shows_a_dialog(qtbot, window, tiny_model, tmp_path):
    document = read_info(tiny_model).to_json()
    document["metrics"] = {"test": {"accuracy": "very high"}}
    bad = tmp_path / "bad-types.safetensors"
    save_file(load_file(tiny_model), bad, metadata={"bloodcell": json.dumps(document)})
    for attempt in range(2):
        window.last_error = ""
        window.load_model(bad)
        qtbot.waitUntil(lambda: bool(window.last_error), timeout=60_000)
        assert "bad-types.safetensors" in window.last_error and "metrics.test.accuracy" in window.last_error, attempt
        assert "tiny test model" in window.model_label.text()
