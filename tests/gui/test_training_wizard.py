"""The training wizard driven end to end on a small real subset, on the CPU."""

import shutil

import numpy as np
import pytest
from helpers import CLASSES, real_data
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWizard
from qt_helpers import classify_and_wait

from bloodcell_gui.wizard.training_wizard import TrainingWizard
from model.modelfile.torch_file import load


@pytest.fixture
def wizard(qtbot, window):
    wizard = window.models.open_training_wizard()
    assert isinstance(wizard, TrainingWizard)
    yield wizard
    wizard.reject()


def pixels(label) -> np.ndarray:
    image = label.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3].copy()


def fast_settings(wizard, epochs: int = 1) -> None:
    page = wizard.settings_page
    page.arch.setCurrentIndex(page.arch.findData("seed"))
    page.width_box.setValue(64)
    page.height_box.setValue(48)
    page.batch_size.setValue(16)
    page.epochs.setValue(epochs)
    page.patience.setValue(0)


def go_to_data(qtbot, wizard, train, test=None) -> None:
    wizard.data_page.set_folders(train, test=test)
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=60_000)


@pytest.mark.slow
def test_end_to_end_train_evaluate_save_and_use(qtbot, window, wizard, real_train_subset, real_test_subset, tmp_path):
    go_to_data(qtbot, wizard, real_train_subset, real_test_subset)
    assert wizard.data_page.chart.values == [24, 24, 24, 24]
    assert wizard.data_page.chart.labels == CLASSES

    fast_settings(wizard)
    wizard.settings_page.mixup.setValue(0.2)
    wizard.next()
    augment = wizard.augment_page
    qtbot.waitUntil(lambda: augment.captions[0].text() != "" and not augment.runner.running, timeout=60_000)
    first = pixels(augment.tiles[0])
    assert first.std() > 10, "the preview tile is blank"
    assert all(caption.text() in CLASSES for caption in augment.captions)
    augment.shuffle.click()
    qtbot.waitUntil(lambda: not augment.runner.running and augment.status.text().endswith("seed 1)"), timeout=60_000)
    assert not np.array_equal(first, pixels(augment.tiles[0]))

    wizard.next()  # settings
    wizard.next()  # training starts
    training = wizard.training_page
    qtbot.waitUntil(lambda: not training.runner.running, timeout=120_000)
    assert training.isComplete(), training.status.text()
    assert len(training.accuracy.series["accuracy"].points) == 1
    assert training.losses.series["batch loss"].points

    wizard.next()
    evaluation = wizard.evaluation_page
    qtbot.waitUntil(lambda: not evaluation.runner.running, timeout=120_000)
    assert evaluation.isComplete(), evaluation.summary.text()
    validation = evaluation.result.validation.evaluation
    assert sum(map(sum, evaluation.valid_heatmap.matrix)) == validation.total == 19  # 20% of 96
    assert sum(map(sum, evaluation.test_heatmap.matrix)) == 32
    assert evaluation.gallery.count() > 0
    # The score histogram shows what the calibration chose, or says there are no statistics.
    assert bool(evaluation.scores.counts) == (evaluation.result.references is not None)
    copies = evaluation.result.copies
    assert copies.checked == 19
    if validation.accuracy <= 0.35:  # one epoch on 77 images: often no better than guessing
        assert "guessing" in evaluation.caution.text()
    else:
        assert ("optimistic" in evaluation.caution.text()) == (copies.share >= 0.05)

    wizard.next()
    save_page = wizard.save_page
    recommended, _ = evaluation.result.go_live(4, validation.accuracy)
    assert save_page.use_now.isChecked() == recommended
    if not recommended:  # a model at chance goes live only by the technician's explicit choice
        assert "not recommended" in save_page.verdict.text()
        save_page.use_now.setChecked(True)
    target = tmp_path / "wizard-model.safetensors"
    wizard.save_page.path.setText(str(target))
    assert wizard.currentPage() is wizard.save_page
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert finish.isEnabled() and finish.isVisible(), (finish.isEnabled(), finish.isVisible())
    with qtbot.waitSignal(window.modelLoaded, timeout=60_000):
        finish.click()  # the file is written in the background, then the wizard closes
        assert "Saving" in wizard.save_page.error.text()
    assert wizard.save_page.error.text() == ""
    info = load(target).info
    assert info.metrics["test"]["images"] == 32
    assert info.training["settings"]["arch"] == "seed"
    assert info.training["settings"]["mixup"] == 0.2
    assert info.test_time_views == "flips"  # the default, for a 64x48 input trained with flips and turns
    assert window.loaded.path == target
    classify_and_wait(qtbot, window, [real_data() / "TEST_SIMPLE" / "MONOCYTE"])
    assert window.results.session.classified == 4

    # The command line, given the same data and settings, records the same figures.
    from model.cli.main import main as cli

    by_cli = tmp_path / "cli-model.safetensors"
    settings = ["--arch", "seed", "--size", "64x48", "--bs", "16", "--epochs", "1", "--patience", "0"]
    arguments = [str(real_train_subset), "--test", str(real_test_subset), *settings, "--mixup", "0.2"]
    assert cli(["train", *arguments, "--out", str(by_cli)]) == 0
    cli_info = load(by_cli).info
    assert cli_info.metrics == info.metrics
    assert cli_info.training["settings"] == info.training["settings"]
    assert cli_info.training["history"] == info.training["history"]


def test_stop_keeps_the_best_model_and_cancel_keeps_nothing(qtbot, wizard, real_train_subset, tmp_path):
    go_to_data(qtbot, wizard, real_train_subset)
    fast_settings(wizard, epochs=30)
    wizard.settings_page.test_time_augmentation.setChecked(False)
    wizard.next()
    wizard.next()
    wizard.next()
    training = wizard.training_page
    qtbot.waitUntil(
        lambda: len(training.accuracy.series["accuracy"].points) >= 1 or not training.runner.running, timeout=120_000
    )
    assert training.accuracy.series["accuracy"].points, training.status.text()
    training.stop_button.click()
    qtbot.waitUntil(lambda: not training.runner.running, timeout=60_000)
    assert training.trained is not None and training.trained.stopped_by_user
    assert training.trained.best_epoch is not None
    assert training.trained.loaded().info.test_time_views == "none"

    wizard.back()
    wizard.next()  # a new run
    qtbot.waitUntil(lambda: bool(training.losses.series["batch loss"].points), timeout=120_000)
    training.cancel_button.click()
    qtbot.waitUntil(lambda: not training.runner.running, timeout=60_000)
    assert training.trained is None
    assert not training.isComplete()
    assert "nothing was kept" in training.status.text()
    assert list(tmp_path.rglob("*.safetensors")) == []


def test_bad_data_shows_the_reason(qtbot, wizard, tmp_path, bad_corpus):
    one = tmp_path / "one"
    (one / "EOSINOPHIL").mkdir(parents=True)
    go_to = wizard.data_page
    go_to.set_folders(one)
    qtbot.waitUntil(lambda: not go_to.runner.running, timeout=60_000)
    assert "at least two class" in go_to.problems.text() and not go_to.isComplete()

    empty = tmp_path / "empty"
    (empty / "A").mkdir(parents=True)
    (empty / "B").mkdir()
    shutil.copy(bad_corpus["good.jpeg"][0], empty / "A" / "a.jpeg")
    go_to.set_folders(empty)
    qtbot.waitUntil(lambda: not go_to.runner.running, timeout=60_000)
    assert "'B' has no usable images" in go_to.problems.text() and not go_to.isComplete()

    mixed = tmp_path / "mixed-classes"
    shutil.copytree(bad_corpus["good.jpeg"][0].parent, mixed / "A", symlinks=True)
    shutil.copytree(bad_corpus["good.jpeg"][0].parent, mixed / "B", symlinks=True)
    go_to.set_folders(mixed)
    qtbot.waitUntil(lambda: not go_to.runner.running, timeout=60_000)
    bad = sum(not ok for _, ok in bad_corpus.values())
    assert go_to.bad_files.count() == 2 * bad
    assert "truncated" in " ".join(go_to.bad_files.item(i).text() for i in range(go_to.bad_files.count()))
    assert go_to.isComplete()


@pytest.mark.slow
def test_the_wizard_trains_on_another_labs_folder_too(qtbot, wizard, real_train_subset, tmp_path):
    pbc = real_data().parent / "pbc"
    other = tmp_path / "other-lab"
    for name in CLASSES:
        (other / name).mkdir(parents=True)
        for path in sorted((pbc / name).iterdir())[:12]:
            (other / name / path.name).symlink_to(path)
    wizard.data_page.set_folders(real_train_subset, more=[other])
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=60_000)
    assert "other-lab: 48 images" in wizard.data_page.summary.text()
    assert wizard.run.config.more_data == (other,)
    fast_settings(wizard)
    wizard.next()
    wizard.next()
    wizard.next()
    training = wizard.training_page
    qtbot.waitUntil(lambda: not training.runner.running, timeout=120_000)
    assert training.isComplete(), training.status.text()
    assert set(training.trained.valid_by_source) == {str(real_train_subset), str(other)}


def test_the_settings_page_says_so_when_the_gpus_cannot_be_listed(qtbot, wizard, monkeypatch):
    import model.inference.devices as devices

    def broken() -> list:
        raise RuntimeError("CUDA driver version is insufficient")

    monkeypatch.setattr(devices, "available_devices", broken)
    page = wizard.settings_page
    page.device.clear()
    page.initializePage()
    qtbot.waitUntil(lambda: page.device.findData("cpu") >= 0, timeout=30_000)
    assert "could not be listed" in page.device.itemText(0)
    assert "CUDA driver version is insufficient" in page.device.toolTip()
    assert page.device.currentData() == "auto"


def test_the_settings_page_lists_devices_from_a_worker(qtbot, wizard, monkeypatch):
    # Listing GPUs imports torch, which the window may not have loaded (ONNX Runtime classifies):
    # on the GUI thread that froze it for seconds.
    import threading

    import model.inference.devices as devices

    threads = []
    real = devices.available_devices
    monkeypatch.setattr(devices, "available_devices", lambda: threads.append(threading.current_thread()) or real())
    page = wizard.settings_page
    page.device.clear()
    page.initializePage()
    assert page.device.count() == 1  # Automatic, at once; the rest when the worker answers
    qtbot.waitUntil(lambda: page.device.findData("cpu") >= 0, timeout=30_000)
    assert threads and threads[0] is not threading.main_thread()


def test_the_settings_page_offers_exactly_the_declared_ranges(wizard):
    from model.training import limits

    page = wizard.settings_page
    boxes = {
        limits.EPOCHS: page.epochs,
        limits.BATCH_SIZE: page.batch_size,
        limits.PATIENCE: page.patience,
        limits.INPUT_SIDE: page.width_box,
        limits.LEARNING_RATE: page.lr,
        limits.MIXUP: page.mixup,
    }
    for limit, box in boxes.items():
        assert (box.minimum(), box.maximum()) == pytest.approx((limit.low, limit.high)), limit.words
    assert (page.valid_pct.minimum() / 100, page.valid_pct.maximum() / 100) == pytest.approx(
        (limits.VALID_SHARE.low, limits.VALID_SHARE.high)
    )
