from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import augmented_copy, cells_inside_the_frame, real_data

from model.common.events import BatchProgress, EpochEnd, ScanProgress
from model.evaluation.evaluate import evaluate_folder
from model.images.reading import load_rgb
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import LoadedModel, load, save
from model.training.settings import Augmentation, TrainConfig
from model.training.train import TrainingError, fit


def quick_config(data, **overrides) -> TrainConfig:
    settings = dict(
        data=data,
        arch="seed",
        width=64,
        height=48,
        batch_size=16,
        epochs=2,
        lr=1e-2,
        patience=0,
        device="cpu",
        augmentation=Augmentation(),
    )
    return TrainConfig(**(settings | overrides))


def test_synthetic_set_is_learned_and_survives_save_and_reload(synthetic_set, tmp_path):
    events = []
    trained = fit(quick_config(synthetic_set, epochs=4), on_event=events.append)
    assert trained.classes == ["BLOB", "RING"]
    assert trained.valid_metrics["accuracy"] > 0.8
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [0, 1, 2, 3]
    assert any(isinstance(e, BatchProgress) for e in events)
    assert any(isinstance(e, ScanProgress) for e in events)

    path = save(tmp_path / "synthetic.safetensors", trained.module, trained.model_info(name="synthetic"))
    before = open_classifier(trained.loaded(), "cpu")
    after = open_classifier(load(path), "cpu")
    files = sorted(synthetic_set.rglob("*.png"))[::7]
    first = [r.probabilities for r in before.classify(files)]
    second = [r.probabilities for r in after.classify(files)]
    assert [int(np.argmax(p)) for p in first] == [int(np.argmax(p)) for p in second]
    assert np.allclose(first, second, atol=2e-2)  # weights are saved in float16
    assert load(path).info.training["settings"]["arch"] == "seed"


def test_real_subset_trains_saves_classifies_and_evaluates(real_train_subset, real_test_subset, tmp_path):
    trained = fit(quick_config(real_train_subset, epochs=1, arch="seed-deep"))
    assert trained.best_epoch == 0
    evaluation = evaluate_folder(open_classifier(trained.loaded(), "cpu"), real_test_subset)
    assert evaluation.total == 32
    assert evaluation.confusion.shape == (4, 4)
    path = save(
        tmp_path / "real.safetensors",
        trained.module,
        trained.model_info(name="real", test_metrics=evaluation.to_json()),
    )
    info = load(path).info
    assert info.metrics["test"]["images"] == 32
    assert info.training["data"]["train"]["counts"] == dict.fromkeys(info.classes, 24)


def test_classifier_matches_the_learners_own_predictions(real_train_subset):
    """Inference preprocessing must be exactly the training pipeline's (minus augmentation)."""
    from model.training.train import make_learner, scan_training_data

    config = quick_config(real_train_subset)
    train_scan, _ = scan_training_data(config, lambda e: None, lambda: False)
    learn = make_learner(config, train_scan)
    learn.model.eval()
    with learn.no_bar(), learn.no_logging():
        probabilities, _ = learn.get_preds(dl=learn.dls.valid)
    trained_classifier = open_classifier(LoadedModel(learn.model, _info(learn, config), Path("<unsaved>")), "cpu")
    files = [item.path for item in learn.dls.valid_ds.items]
    ours = np.array([r.probabilities for r in trained_classifier.classify(files)])
    assert np.allclose(ours, probabilities.numpy(), atol=1e-4)


def _info(learn, config):
    from model.modelfile.torch_file import ModelInfo

    return ModelInfo(arch=config.arch, classes=list(learn.dls.vocab), policy=config.policy)


def test_stop_request_ends_within_one_batch_and_keeps_a_usable_model(real_train_subset):
    events = []

    def two_batches_into_the_second_epoch() -> bool:
        ended = [i for i, e in enumerate(events) if isinstance(e, EpochEnd)]
        return bool(ended) and sum(isinstance(e, BatchProgress) for e in events[ended[0] :]) >= 2

    trained = fit(
        quick_config(real_train_subset, epochs=5),
        on_event=events.append,
        should_stop=two_batches_into_the_second_epoch,
    )
    assert trained.stopped_by_user
    ended = [i for i, e in enumerate(events) if isinstance(e, EpochEnd)]
    assert len(ended) == 1
    assert sum(isinstance(e, BatchProgress) for e in events[ended[0] :]) == 2
    assert trained.best_epoch == 0
    with torch.no_grad():
        out = trained.module(torch.zeros(1, 3, 48, 64))
    assert out.shape == (1, 4)


def test_one_class_cannot_be_trained(tmp_path):
    (tmp_path / "ONLY").mkdir()
    with pytest.raises(TrainingError, match="at least two class"):
        fit(quick_config(tmp_path))


@pytest.mark.slow
def test_learning_rate_finder_suggests_a_rate_from_its_curve(synthetic_set):
    from model.training.train import find_learning_rate

    rates, losses, suggestion = find_learning_rate(quick_config(synthetic_set))
    assert len(rates) == len(losses) > 10
    assert rates == sorted(rates)
    assert min(rates) <= suggestion <= max(rates)


@pytest.mark.slow
def test_split_by_cell_keeps_every_cell_on_one_side(tmp_path):
    """Two classes of four cells, each photographed four times (the original and three turned copies)."""
    for name in ("EOSINOPHIL", "NEUTROPHIL"):
        (tmp_path / name).mkdir()
        originals = cells_inside_the_frame(sorted((real_data() / "TEST_SIMPLE" / name).glob("*.jpeg")), 4)
        for index, path in enumerate(originals):
            image = load_rgb(path)
            image.save(tmp_path / name / f"{index}-0.png")
            for turn in (1, 2, 3):
                augmented_copy(image, angle=40 * turn, flip=turn == 2, shift=(turn, -turn)).save(
                    tmp_path / name / f"{index}-{turn}.png"
                )
    events = []
    trained = fit(quick_config(tmp_path, epochs=1, split_by_cell=True, valid_pct=0.25), on_event=events.append)

    def cell(item) -> tuple[str, str]:
        return item.label, item.path.stem.split("-")[0]

    valid_cells = {cell(item) for item in trained.valid_items}
    assert len(trained.valid_items) == 8 and len(valid_cells) == 2
    assert not valid_cells & {cell(item) for item in trained.train_items}
    assert "by cell (8 cells found)" in trained.data_summary["valid"]
    assert any(isinstance(e, ScanProgress) and e.what == "grouping copies of each cell" for e in events)


def test_mixup_blends_training_batches_only_when_asked(synthetic_set, monkeypatch):
    import model.training.train as train_module

    blend_weights = []

    class RecordingMixUp(train_module.MixUp):
        def before_batch(self) -> None:
            super().before_batch()
            blend_weights.append(float(self.lam.min()))

    monkeypatch.setattr(train_module, "MixUp", RecordingMixUp)
    fit(quick_config(synthetic_set, epochs=1))
    assert blend_weights == []
    trained = fit(quick_config(synthetic_set, epochs=1, mixup=0.4))
    assert blend_weights and min(blend_weights) < 0.99
    assert trained.model_info(name="m").training["settings"]["mixup"] == 0.4


def test_at_most_the_asked_number_of_copies_of_each_cell_are_kept():
    from pathlib import Path

    import numpy as np

    from model.training.data import LabelledImage, _cap_copies

    items = [LabelledImage(Path(f"{i}.png"), "A") for i in range(10)]
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 2, 3, 3])
    kept, valid = _cap_copies(items, [4, 5, 6], groups, most=2, seed=1)
    kept_groups = [groups[int(item.path.stem)] for item in kept]
    assert sorted(kept_groups) == [0, 0, 1, 1, 2, 3, 3]
    assert [kept_groups[i] for i in valid] == [1, 1]  # validation keeps pointing at group 1's images
    assert _cap_copies(items, [4], groups, most=0, seed=1) == (items, [4])


def test_an_image_deleted_during_training_is_replaced_and_named(synthetic_set, tmp_path):
    import shutil

    from model.training.data import LabelledImage, ReadOrSubstitute

    files = sorted((synthetic_set / "BLOB").glob("*.png"))[:3]
    copies = [shutil.copy(f, tmp_path / f.name) for f in files]
    items = [LabelledImage(Path(c), "BLOB") for c in copies]
    reader = ReadOrSubstitute(items)
    Path(copies[0]).unlink()
    image = reader(items[0])
    assert image.size == (96, 72)
    assert list(reader.unreadable) == [Path(copies[0])] and "does not exist" in reader.unreadable[Path(copies[0])]


def test_a_training_whose_loss_turns_nan_saves_nothing(synthetic_set, monkeypatch):
    import model.training.train as train_module

    class NaNLoss(torch.nn.Module):
        def forward(self, output, target):
            return output.sum() * float("nan")

    monkeypatch.setattr(train_module, "CrossEntropyLossFlat", NaNLoss)
    with pytest.raises(TrainingError, match="diverged"):
        fit(quick_config(synthetic_set, epochs=2))


def test_fewer_training_images_than_a_batch_are_still_trained_on(synthetic_set, tmp_path):
    import shutil

    small = tmp_path / "small"
    for kind in ("BLOB", "RING"):
        (small / kind).mkdir(parents=True)
        for path in sorted((synthetic_set / kind).glob("*.png"))[:5]:
            shutil.copy(path, small / kind / path.name)
    trained = fit(quick_config(small, epochs=1, batch_size=64))
    assert np.isfinite(trained.history[0]["train_loss"])  # a batch of all 8, not none at all


def test_ensemble_members_trained_with_one_split_seed_share_their_validation_images(real_train_subset):
    from model.training.train import make_learner, scan_training_data

    def validation(**seeds) -> set[Path]:
        config = quick_config(real_train_subset, valid_pct=0.3, **seeds)
        train_scan, _ = scan_training_data(config, lambda e: None, lambda: False)
        return {Path(item.path) for item in make_learner(config, train_scan).dls.valid_ds.items}

    first = validation(seed=1)
    assert validation(seed=2, split_seed=1) == first
    assert validation(seed=2) != first
    assert TrainConfig.from_json(quick_config(real_train_subset, split_seed=1).to_json()).data_split_seed == 1
