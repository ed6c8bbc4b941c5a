"""The ONNX Runtime backend gives the torch backend's answers, and files carry the graphs it runs."""

import numpy as np
import pytest
import torch
from helpers import CLASSES, real_data, with_lab_statistics

from model.cli.main import main as cli_main
from model.common.resources import default_model_path
from model.fileformat.graphs import NO_GRAPHS, load_graphs
from model.images.preprocess import InputPolicy
from model.images.symmetry import FLIPS, QUARTER_TURNS
from model.inference.backends.onnx_backend import OnnxBackend
from model.inference.backends.torch_backend import TorchBackend, last_linear
from model.inference.classifier import Classifier, ViewOutputs
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import ModelFileError, ModelInfo, load, save
from model.networks.build import build_model


def both_backends(path, inputs):
    answers = {}
    for backend in ("torch", "onnx"):
        classifier = open_classifier(path, "cpu", backend=backend)
        answers[backend] = list(classifier.classify(inputs, batch_size=16))
    return answers["torch"], answers["onnx"]


def assert_same_answers(by_torch, by_onnx):
    assert [r.path for r in by_torch] == [r.path for r in by_onnx]
    assert all(r.ok for r in by_torch + by_onnx)
    assert [r.predicted_index for r in by_torch] == [r.predicted_index for r in by_onnx]
    difference = np.abs(np.array([r.probabilities for r in by_torch]) - [r.probabilities for r in by_onnx])
    assert difference.max() < 1e-4
    if by_torch[0].unfamiliarity is not None:
        scores = np.array([[a.unfamiliarity, b.unfamiliarity] for a, b in zip(by_torch, by_onnx, strict=True)])
        assert np.abs(scores[:, 0] - scores[:, 1]).max() < 1e-3


@pytest.mark.slow
def test_the_default_model_gives_the_same_classes_and_probabilities_on_both_backends():
    by_torch, by_onnx = both_backends(default_model_path(), [real_data() / "TEST_SIMPLE"])
    assert len(by_torch) == 71
    assert_same_answers(by_torch, by_onnx)
    # the shipped file has statistics: the scores and flags agree too
    assert [r.leukocyte_found for r in by_torch] == [r.leukocyte_found for r in by_onnx]


@pytest.mark.parametrize(
    ("arch", "policy", "views"),
    [
        ("seed", InputPolicy(80, 60), FLIPS),  # not square: the 4 flips
        ("seed-deep", InputPolicy(64, 64, framing="cell"), QUARTER_TURNS),
        ("seed-deep-instance", InputPolicy(64, 64, framing="cell"), QUARTER_TURNS),
        ("seed-deep-instance-colour", InputPolicy(64, 64, framing="cell"), QUARTER_TURNS),
        ("seed-deep-group", InputPolicy(64, 64, framing="cell"), QUARTER_TURNS),
        ("efficientnet-lite0", InputPolicy(64, 64, mean=(0.5,) * 3, std=(0.5,) * 3), QUARTER_TURNS),
    ],
)
@pytest.mark.slow
def test_every_architecture_and_view_set_agrees_across_backends(tmp_path, real_test_subset, arch, policy, views):
    torch.manual_seed(0)
    network = with_lab_statistics(build_model(arch, len(CLASSES)))  # so that folding matters
    path = save(tmp_path / "net.safetensors", network, ModelInfo(arch, CLASSES, policy, test_time_views=views))
    files = sorted(real_test_subset.rglob("*.jpeg"))[:12]
    assert_same_answers(*both_backends(path, files))


def test_an_ensemble_runs_each_member_graph(tmp_path, real_test_subset):
    torch.manual_seed(1)
    members = [build_model("seed", len(CLASSES)) for _ in range(2)]
    policies = [InputPolicy(64, 64), InputPolicy(48, 48, framing="cell")]
    infos = [ModelInfo("seed", CLASSES, policy) for policy in policies]
    info = ModelInfo("ensemble", CLASSES, policies[0], members=infos)
    path = save(tmp_path / "ensemble.safetensors", torch.nn.ModuleList(members), info)
    assert len(load_graphs(path).graphs) == 2
    assert_same_answers(*both_backends(path, sorted(real_test_subset.rglob("*.jpeg"))[:8]))


def test_the_cpu_runs_graphs_and_torch_runs_what_has_none(tmp_path):
    network = build_model("seed", len(CLASSES))
    info = ModelInfo("seed", CLASSES, InputPolicy(64, 64))
    with_graphs = save(tmp_path / "new.safetensors", network, info)
    without = save(tmp_path / "old.safetensors", network, info, graphs=False)
    assert isinstance(open_classifier(with_graphs, "cpu").backend, OnnxBackend)
    assert isinstance(open_classifier(without, "cpu").backend, TorchBackend)
    # just trained, not saved: no graph yet, so torch
    assert isinstance(open_classifier(load(without), "cpu").backend, TorchBackend)
    with pytest.raises(ModelFileError, match="no ONNX graphs") as refused:
        load_graphs(without)
    assert str(without) in str(refused.value) and "bloodcell convert" in NO_GRAPHS


def test_convert_gives_an_old_file_its_graphs_and_keeps_everything_else(tmp_path, real_test_subset, capsys):
    shipped = load(default_model_path())
    old = save(tmp_path / "old.safetensors", shipped.module, shipped.info, references=shipped.references, graphs=False)
    new = tmp_path / "new.safetensors"
    assert cli_main(["convert", str(old), "--out", str(new)]) == 0
    assert "now runs in BloodCell Review" in capsys.readouterr().out
    converted = load_graphs(new)
    assert converted.info.to_json() == load(old).info.to_json()
    assert converted.references is not None and converted.references.threshold == shipped.references.threshold
    files = sorted(real_test_subset.rglob("*.jpeg"))[:8]
    torch_answers = list(open_classifier(old, "cpu").classify(files))
    onnx_answers = list(open_classifier(new, "cpu", backend="onnx").classify(files))
    assert_same_answers(torch_answers, onnx_answers)


def test_a_model_whose_weights_are_not_finite_is_not_saved(tmp_path):
    network = build_model("seed", len(CLASSES))
    with torch.no_grad():
        last_linear(network).bias.fill_(float("nan"))
    target = tmp_path / "diverged.safetensors"
    with pytest.raises(ValueError, match="NaN"):
        save(target, network, ModelInfo("seed", CLASSES, InputPolicy(64, 64)))
    assert not target.exists()


def test_the_backend_can_be_chosen_and_an_unknown_one_is_refused(monkeypatch):
    monkeypatch.setenv("BLOODCELL_BACKEND", "torch")
    assert isinstance(open_classifier(default_model_path(), "cpu").backend, TorchBackend)
    monkeypatch.setenv("BLOODCELL_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="unknown backend"):
        open_classifier(default_model_path(), "cpu")


def test_network_outputs_are_combined_once_for_both_backends(real_test_subset):
    """The pipeline, not the backend, turns logits into probabilities: a backend that returns
    fixed logits gives their softmax, averaged over the views."""
    fixed = np.array([[[2.0, 0.0, 0.0, 0.0]], [[0.0, 2.0, 0.0, 0.0]]], dtype=np.float32)  # 2 views, 1 image

    class Fixed:
        name = "fixed"

        def run(self, batches):
            return [ViewOutputs(fixed, None) for _ in batches]

        def describe(self):
            return "fixed"

    classifier = Classifier(load_graphs(default_model_path()), Fixed())
    pixels = [np.zeros((1, p.height, p.width, 3), np.uint8) for p in classifier.policies]
    expected = (np.exp(fixed) / np.exp(fixed).sum(-1, keepdims=True)).mean(0)
    assert np.allclose(classifier.probabilities(pixels), expected, atol=1e-6)
