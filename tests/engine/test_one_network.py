"""A model file is one network: copies of the shipped default whose graph lies (rotated classes, a
reversed or cut batch, huge logits), asks for too much (ConstantOfShape 40000x40000, a shape read
off the batch, Pad by 1000, a chain of MatMuls) or reads a file are refused with the file's name
before any image is classified, by BloodCell Review's reader and by the full loader alike."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from helpers import edited_default, rotated_classes
from onnx import TensorProto, helper, numpy_helper
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from model.common.resources import default_model_path
from model.fileformat.graphs import load_graphs
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import ModelFileError, load


def after_output(model, output: str, make_nodes) -> None:
    """Route graph output `output` through the nodes `make_nodes(raw_name)` returns."""
    raw = f"{output}_raw"
    for node in model.graph.node:
        node.output[:] = [raw if name == output else name for name in node.output]
        node.input[:] = [raw if name == output else name for name in node.input]
    model.graph.node.extend(make_nodes(raw))


def constant(name: str, values, dtype=np.int64) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(values, dtype=dtype)))


def reversed_batch(model):
    after_output(model, "logits", lambda raw: [
        constant("rev_starts", [-1]), constant("rev_ends", [-(2**62)]), constant("rev_axes", [0]),
        constant("rev_steps", [-1]),
        helper.make_node("Slice", [raw, "rev_starts", "rev_ends", "rev_axes", "rev_steps"], ["logits"]),
    ])  # fmt: skip


def huge_logits(model):
    after_output(model, "logits", lambda raw: [
        constant("huge", [1e30], np.float32), helper.make_node("Mul", [raw, "huge"], ["logits"]),
    ])  # fmt: skip


def first_picture_only(model):
    after_output(model, "logits", lambda raw: [
        constant("one_starts", [0]), constant("one_ends", [1]), constant("one_axes", [0]),
        helper.make_node("Slice", [raw, "one_starts", "one_ends", "one_axes"], ["logits"]),
    ])  # fmt: skip


def doubled_batch(model):
    after_output(model, "logits", lambda raw: [helper.make_node("Concat", [raw, raw], ["logits"], axis=0)])


def out_of_bounds_gather(model):
    after_output(model, "logits", lambda raw: [
        constant("wanted", [0, 1, 2, 7]), helper.make_node("Gather", [raw, "wanted"], ["logits"], axis=1),
    ])  # fmt: skip


def added_to_logits(make_nodes):
    """A change that computes something (`make_nodes` ending in 'waste') and adds its mean to the
    logits, so the runtime must compute it."""

    def change(model):
        after_output(model, "logits", lambda raw: [
            *make_nodes(),
            helper.make_node("ReduceMean", ["waste"], ["waste_mean"], keepdims=0),
            helper.make_node("Add", [raw, "waste_mean"], ["logits"]),
        ])  # fmt: skip

    return change


constant_of_shape_40000 = added_to_logits(lambda: [
    constant("big_shape", [40000, 40000]), helper.make_node("ConstantOfShape", ["big_shape"], ["waste"]),
])  # fmt: skip
shape_from_the_batch = added_to_logits(lambda: [
    helper.make_node("Shape", ["pixels"], ["pixel_shape"]),
    constant("batch_axis", [0]),
    helper.make_node("Gather", ["pixel_shape", "batch_axis"], ["batch"]),
    constant("per_picture", [100_000_000]),
    helper.make_node("Concat", ["batch", "per_picture"], ["waste_shape"], axis=0),
    helper.make_node("ConstantOfShape", ["waste_shape"], ["waste_ints"]),
    helper.make_node("Cast", ["waste_ints"], ["waste"], to=TensorProto.FLOAT),
])  # fmt: skip
pad_by_1000 = added_to_logits(lambda: [
    helper.make_node("Cast", ["pixels"], ["float_pixels"], to=TensorProto.FLOAT),
    constant("pads", [0, 0, 1000, 1000, 0, 0, 1000, 1000]),
    helper.make_node("Pad", ["float_pixels", "pads"], ["waste"]),
])  # fmt: skip


def matmul_chain(model):
    square = numpy_helper.from_array(np.eye(128, dtype=np.float32) * 0.5, "square")
    model.graph.initializer.append(square)
    nodes = [helper.make_node("Cast", ["pixels"], ["chain_0"], to=TensorProto.FLOAT)]
    nodes += [helper.make_node("MatMul", [f"chain_{i}", "square"], [f"chain_{i + 1}"]) for i in range(1000)]
    nodes.append(helper.make_node("Identity", ["chain_1000"], ["waste"]))
    added_to_logits(lambda: nodes)(model)


def huge_convolution(model):
    kernel = numpy_helper.from_array(np.full((32, 3, 63, 63), 1e-6, dtype=np.float32), "huge_kernel")
    model.graph.initializer.append(kernel)
    added_to_logits(lambda: [
        helper.make_node("Cast", ["pixels"], ["float_pixels"], to=TensorProto.FLOAT),
        helper.make_node("Conv", ["float_pixels", "huge_kernel"], ["waste"], pads=[31, 31, 31, 31]),
    ])(model)  # fmt: skip


def sparse_constant_reading_a_file(model):
    values = TensorProto(name="secret_values", data_type=TensorProto.FLOAT, dims=[1])
    values.data_location = TensorProto.EXTERNAL
    values.external_data.append(onnx.StringStringEntryProto(key="location", value="secret.bin"))
    indices = numpy_helper.from_array(np.array([0], dtype=np.int64), "secret_indices")
    sparse = helper.make_sparse_tensor(values, indices, [4])
    after_output(model, "logits", lambda raw: [
        helper.make_node("Constant", [], ["secret"], sparse_value=sparse),
        helper.make_node("Add", [raw, "secret"], ["logits"]),
    ])  # fmt: skip


LIES = {
    "rotated classes": (rotated_classes, "not the same network"),
    "reversed batch": (reversed_batch, "not the same network"),
    "logits x 1e30": (huge_logits, "not the same network"),
    "first picture only": (first_picture_only, "shape"),
    "doubled batch": (doubled_batch, "shape"),
    "gather out of bounds": (out_of_bounds_gather, "onnx.0"),
}
COSTS = {
    "ConstantOfShape 40000x40000": (constant_of_shape_40000, "would hold 1,600,000,000 numbers"),
    "a shape read off the batch": (shape_from_the_batch, "would hold"),
    "Pad by 1000": (pad_by_1000, "more than 64 per input pixel"),
    "1000 chained MatMuls": (matmul_chain, "more than 1024 per input pixel"),
    "a convolution of 63x63 kernels": (huge_convolution, "operations"),
    "a sparse constant naming a file": (sparse_constant_reading_a_file, "sparse constant"),
}


@pytest.mark.parametrize("case", list(LIES) + list(COSTS))
def test_a_crafted_graph_is_refused_by_name_before_any_image(tmp_path, case, monkeypatch):
    change, reason = {**LIES, **COSTS}[case]
    target = edited_default(tmp_path / "crafted.safetensors", change)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.bin").write_bytes(b"\x00\x00\x80\x7f")  # what a graph reading files would find
    with pytest.raises(ModelFileError) as refused:
        open_classifier(load_graphs(target), "cpu", backend="onnx")
    assert str(target) in str(refused.value) and reason in str(refused.value), str(refused.value)


def test_weights_that_are_not_the_graphs_network_are_refused_by_torch(tmp_path):
    """The other half: a GPU PC runs the weights; rotate them and keep the graph."""

    def rotate(arrays):
        for name in ("0.15.weight", "0.15.bias"):  # the first network's last layer
            arrays[name] = np.roll(arrays[name], 1, axis=0).copy()

    target = edited_default(tmp_path / "rotated-weights.safetensors", weights=rotate)
    with pytest.raises(ModelFileError, match="as torch runs it does not give the answers recorded") as refused:
        open_classifier(load(target), "cpu", backend="torch")
    assert str(target) in str(refused.value)
    open_classifier(load_graphs(target), "cpu", backend="onnx")  # its graph is still the recorded network


def test_a_file_without_probe_records_cannot_run_its_graphs(tmp_path):
    source = default_model_path()
    arrays = {k: v for k, v in load_file(source).items() if not k.startswith("probe.")}
    with safe_open(source, "np") as stream:
        save_file(arrays, tmp_path / "old.safetensors", metadata=stream.metadata())
    with pytest.raises(ModelFileError, match="bloodcell convert"):
        open_classifier(load_graphs(tmp_path / "old.safetensors"), "cpu", backend="onnx")


def test_a_damaged_probe_record_is_refused(tmp_path):
    def damage(arrays):
        arrays["probe.1.logits"] = arrays["probe.1.logits"][:2].copy()

    target = edited_default(tmp_path / "damaged.safetensors", weights=damage)
    with pytest.raises(ModelFileError, match="probe record probe.1.logits is damaged"):
        load_graphs(target)


def test_the_shipped_default_passes_both_backends():
    open_classifier(load_graphs(default_model_path()), "cpu", backend="onnx")
    open_classifier(load(default_model_path()), "cpu", backend="torch")
    assert json.loads(json.dumps(len(load_graphs(default_model_path()).probes))) == 2


class LyingBackend:
    """Answers a batch of n pictures as `lie(n)` says (logits, features), view axis first."""

    def __init__(self, lie) -> None:
        self.lie = lie

    def run(self, batches):
        from model.inference.classifier import ViewOutputs

        return [ViewOutputs(*self.lie(len(pixels))) for pixels in batches]

    def describe(self) -> str:
        return "lying"


OUTPUT_LIES = {
    "one answer for the batch": (lambda n: (np.zeros((4, 1, 4)), np.zeros((4, 1, 256))), r"not \(3, 4\)"),
    "five classes": (lambda n: (np.zeros((4, n, 5)), np.zeros((4, n, 256))), r"not \(3, 4\)"),
    "a doubled batch": (lambda n: (np.zeros((4, 2 * n, 4)), np.zeros((4, 2 * n, 256))), r"not \(3, 4\)"),
    "rank 2": (lambda n: (np.zeros((n, 4)), np.zeros((n, 256))), "class scores shaped"),
    "features for another batch": (lambda n: (np.zeros((4, n, 4)), np.zeros((4, 1, 256))), "features for"),
    "NaN": (lambda n: (np.full((4, n, 4), np.nan), np.zeros((4, n, 256))), "NaN"),
    "saturated": (lambda n: (np.full((4, n, 4), 1e30), np.zeros((4, n, 256))), "beyond"),
}


@pytest.mark.parametrize("case", list(OUTPUT_LIES))
def test_outputs_are_checked_before_they_become_answers(case):
    from model.inference.classifier import Classifier

    lie, reason = OUTPUT_LIES[case]
    loaded = load_graphs(default_model_path())
    classifier = Classifier(loaded, LyingBackend(lie))
    with pytest.raises(ModelFileError, match=reason) as refused:
        classifier.outputs(np.zeros((3, 128, 128, 3), np.uint8))
    assert str(default_model_path()) in str(refused.value)
