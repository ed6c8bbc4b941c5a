"""One training run's stages, as the CLI and the wizard drive them."""

import pytest

from model.common.task import TaskState
from model.evaluation.classify_job import ClassifiedBatch, classify_inputs
from model.training.run import RunError, TrainingRun
from model.training.settings import TrainConfig
from model.training.train import TrainingError


def test_a_stage_refuses_to_run_before_the_one_it_needs(tmp_path):
    run = TrainingRun(TrainConfig(data=tmp_path))
    with pytest.raises(RunError, match="not been checked"):
        run.train(TaskState())
    with pytest.raises(RunError, match="no trained model"):
        run.evaluate(TaskState())
    with pytest.raises(RunError, match="no trained model"):
        run.save(tmp_path / "m.safetensors", name="m")


def test_data_that_cannot_be_trained_on_stops_before_training(tmp_path):
    (tmp_path / "ONLY").mkdir()
    run = TrainingRun(TrainConfig(data=tmp_path))
    run.scanned = run.scan(TaskState())
    with pytest.raises(TrainingError, match="at least two class"):
        run.train(TaskState())
    run.config = TrainConfig(data=tmp_path / "elsewhere")
    with pytest.raises(RunError, match="not been checked"):  # the scan was of another folder
        run.train(TaskState())


def test_the_full_run_records_test_metrics_with_their_folder(synthetic_set, tmp_path):
    config = TrainConfig(data=synthetic_set, arch="seed", width=48, height=36, epochs=1, patience=0, device="cpu")
    run = TrainingRun(config, test_folder=synthetic_set)
    run.scanned = run.scan(TaskState())
    run.trained = run.train(TaskState())
    run.evaluation = run.evaluate(TaskState(), review_validation=False)
    saved = run.save(tmp_path / "m.safetensors", name="synthetic")
    from model.modelfile.torch_file import read_info

    info = read_info(saved)
    assert info.metrics["test"]["folder"] == str(synthetic_set)
    assert info.metrics["test"]["images"] == 80
    assert {"accuracy", "balanced_accuracy", "macro_f1"} <= set(info.metrics["test"])
    assert info.training["stopped_by_user"] is False and info.training["stopped_by_patience"] is False


def test_classifying_a_folder_reports_batches_with_folder_truth(synthetic_set, tiny_synthetic_classifier):
    batches = []
    done = classify_inputs(TaskState(batches.append), tiny_synthetic_classifier, [synthetic_set])
    results = [pair for batch in batches for pair in batch.results]
    assert done == len(results) == 80
    assert all(isinstance(batch, ClassifiedBatch) for batch in batches)
    assert {item.truth for item in results} == {0, 1}
    assert batches[-1].done == batches[-1].total == 80


@pytest.fixture
def tiny_synthetic_classifier():
    import torch

    from model.images.preprocess import InputPolicy
    from model.modelfile.opening import open_classifier
    from model.modelfile.torch_file import LoadedModel, ModelInfo
    from model.networks.build import build_model

    torch.manual_seed(0)
    info = ModelInfo(arch="seed", classes=["BLOB", "RING"], policy=InputPolicy(48, 36))
    return open_classifier(LoadedModel(build_model("seed", 2).eval(), info, path=None), "cpu")
