"""ONNX graphs in model files are data from elsewhere: each kind of crafted graph is refused with
the file's name and the reason, by the torch-free reader and by the full loader alike."""

import numpy as np
import onnx
import pytest
import torch
from helpers import CLASSES, edited_model_file, seed_model_file
from onnx import TensorProto, helper, numpy_helper
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from model.fileformat.graphs import load_graphs
from model.images.preprocess import InputPolicy
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import ModelFileError, ModelInfo, load, save
from model.networks.build import build_model


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("graphs") / "good.safetensors"
    return seed_model_file(path, size=(32, 32))


with_graph = edited_model_file


def custom_operator(model):
    model.graph.node[0].domain = "com.example.native"
    model.opset_import.append(helper.make_opsetid("com.example.native", 1))


def external_weights(model):
    weight = model.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.append(onnx.StringStringEntryProto(key="location", value="/etc/passwd"))


def not_finite(model):
    weight = model.graph.initializer[0]
    values = numpy_helper.to_array(weight).copy()
    values.flat[0] = np.nan
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))


def loop_operator(model):
    body = helper.make_graph([], "body", [], [])
    model.graph.node.append(helper.make_node("Loop", ["", ""], ["never"], body=body))


def fixed_batch(model):
    model.graph.input[0].type.tensor_type.shape.dim[0].ClearField("dim_param")
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1


def float_input(model):
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.FLOAT


def renamed_output(model):
    model.graph.output[1].name = "secrets"


def own_function(model):
    model.functions.append(helper.make_function("com.example", "f", [], [], [], [helper.make_opsetid("", 17)]))


@pytest.mark.parametrize(
    ("change", "raw", "reason"),
    [
        (custom_operator, None, "non-standard operator domain"),
        (external_weights, None, "refers to a file outside"),
        (not_finite, None, "NaN or infinite"),
        (loop_operator, None, "operator 'Loop'"),
        (fixed_batch, None, "fixed batch size"),
        (renamed_output, None, "outputs are"),
        (float_input, None, "not a tensor of bytes"),
        (own_function, None, "functions of its own"),
        (None, np.frombuffer(b"\x08\x07garbage that is not protobuf" * 5, dtype=np.uint8), "not a readable ONNX graph"),
        (None, np.zeros(0, dtype=np.uint8), "empty"),
        (None, np.zeros((4, 4), dtype=np.uint8), "not stored as bytes"),
        (None, np.zeros(16, dtype=np.float32), "not stored as bytes"),
    ],
)
def test_a_crafted_graph_is_refused_by_name_by_both_readers(good_file, tmp_path, change, raw, reason):
    target = with_graph(good_file, tmp_path / "crafted.safetensors", change, raw=raw)
    for reader in (load_graphs, load):
        with pytest.raises(ModelFileError, match=reason) as refused:
            reader(target)
        assert str(target) in str(refused.value)


@pytest.mark.parametrize(
    ("metadata_change", "reason"),
    [
        (lambda d: d.update(classes=["A", "B", "C"]), "3 classes"),
        (lambda d: d["input"].update(width=48, height=48), "3x48x48"),
    ],
)
def test_a_graph_that_does_not_fit_its_header_is_refused(good_file, tmp_path, metadata_change, reason):
    target = with_graph(good_file, tmp_path / "mismatch.safetensors", metadata_change=metadata_change)
    with pytest.raises(ModelFileError, match=reason):
        load_graphs(target)


def test_graphs_missing_for_some_networks_of_an_ensemble_are_refused(tmp_path):
    members = [build_model("seed", len(CLASSES)) for _ in range(2)]
    infos = [ModelInfo("seed", CLASSES, InputPolicy(32, 32)) for _ in range(2)]
    path = save(
        tmp_path / "ensemble.safetensors",
        torch.nn.ModuleList(members),
        ModelInfo("ensemble", CLASSES, infos[0].policy, members=infos),
    )
    arrays = load_file(path)
    with safe_open(path, "np") as stream:
        metadata = stream.metadata()
    del arrays["onnx.1"]
    save_file(arrays, path, metadata=metadata)
    with pytest.raises(ModelFileError, match="do not match its networks"):
        load_graphs(path)


def test_a_graph_from_another_network_is_refused_by_the_full_loader(good_file, tmp_path):
    """The weights and the graph must be one network: a graph with other features is caught."""
    other = save(
        tmp_path / "deep.safetensors",
        build_model("seed-deep", len(CLASSES)),
        ModelInfo("seed-deep", CLASSES, InputPolicy(32, 32)),
    )
    arrays = load_file(good_file)
    arrays["onnx.0"] = load_file(other)["onnx.0"]
    with safe_open(good_file, "np") as stream:
        metadata = stream.metadata()
    target = tmp_path / "swapped.safetensors"
    save_file(arrays, target, metadata=metadata)
    with pytest.raises(ModelFileError, match="do not belong to its networks"):
        load(target)


def test_the_good_file_loads_and_classifies_on_both_readers(good_file, real_test_subset):
    files = sorted(real_test_subset.rglob("*.jpeg"))[:4]
    assert all(r.ok for r in open_classifier(load_graphs(good_file)).classify(files))
    assert len(load(good_file).graphs) == 1


def test_a_graph_the_runtime_refuses_is_named_as_the_files_fault(good_file, tmp_path):
    """Past the checks (standard operators, the right signature), types are checked further (by
    the shape inference that bounds the graph's costs, and by the runtime): a Relu fed the uint8
    pixels is refused, and reported as the file's fault."""

    def relu_on_bytes(model):
        first = model.graph.node[0]
        model.graph.node.insert(0, helper.make_node("Relu", ["pixels"], ["relu_of_bytes"]))
        first.input[0] = "relu_of_bytes"

    target = with_graph(good_file, tmp_path / "mistyped.safetensors", relu_on_bytes)
    with pytest.raises(ModelFileError, match=r"graph onnx.0 (is refused: its shapes|refuses)") as refused:
        open_classifier(load_graphs(target), "cpu", backend="onnx")
    assert str(target) in str(refused.value)
