"""Checking an ONNX graph from a model file before ONNX Runtime sees it.

An ONNX graph is data, but a crafted one can still hurt: operators from custom domains run
native code that ships elsewhere, "external data" makes the runtime open other files by name,
subgraphs and functions hide what runs, and sizes can be made to exhaust memory. BloodCell's
graphs are exported by `model.modelfile.onnx_export` from its own networks, so anything outside that
shape is refused, with the reason: standard operators from a short list, one float input
`pixels` (batch, 3, height, width) of the header's size, outputs `logits` (batch, classes) and
`features` (batch, n), every weight inside the graph and finite.
"""

from __future__ import annotations

import numpy as np

from model.fileformat.graph_bounds import BoundsError, check_bounds

INPUT = "pixels"
OUTPUTS = ("logits", "features")
OPSET = 17
MAX_GRAPH_BYTES = 512 * 2**20
MAX_NODES = 20_000
MAX_FEATURES = 100_000
# The operators BloodCell's architectures export to (seed, seed-deep and its InstanceNorm
# variant, EfficientNet-Lite0, ResNet), and close relatives: arithmetic, shapes and the usual
# layers. Nothing that loops, branches, reads files or calls custom code.
ALLOWED_OPERATORS = frozenset(
    {
        "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant",
        "ConstantOfShape", "Conv", "Div", "Dropout", "Flatten", "Gather", "Gemm",
        "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity",
        "InstanceNormalization", "MatMul",
        "Max", "MaxPool", "Min", "Mul", "Pad", "ReduceMean", "Relu", "Reshape", "Shape",
        "Sigmoid", "Slice", "Softmax", "Squeeze", "Sub", "Transpose", "Unsqueeze",
    }
)  # fmt: skip
STANDARD_DOMAINS = ("", "ai.onnx")


class GraphError(ValueError):
    """An ONNX graph BloodCell will not run, with the reason in plain words."""


def check_graph(raw: bytes, *, classes: int, width: int, height: int) -> int:
    """Check a serialised ONNX graph against its model file's header; return the length of its
    feature vector (the input of the last linear layer). Raises GraphError."""
    import onnx
    from google.protobuf.message import DecodeError

    if not 0 < len(raw) <= MAX_GRAPH_BYTES:
        raise GraphError(f"the graph is empty or larger than {MAX_GRAPH_BYTES // 2**20} MiB")
    try:
        model = onnx.load_model_from_string(raw)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise GraphError(f"it is not a readable ONNX graph ({type(error).__name__})") from None
    _check_operators(model)
    _check_weights(model.graph)
    _check_signature(model.graph, classes, width, height)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else "invalid"
        raise GraphError(f"the ONNX checker refuses it ({first_line})") from None
    try:
        check_bounds(model, width, height)
    except BoundsError as error:
        raise GraphError(str(error)) from None
    features = _dimension(model.graph.output[1], 1)
    if features is None:
        raise GraphError("its feature output has no fixed length")
    return features


def _check_operators(model) -> None:
    for opset in model.opset_import:
        if opset.domain not in STANDARD_DOMAINS:
            raise GraphError(f"it uses the non-standard operator domain {opset.domain[:80]!r}")
        if not 7 <= opset.version <= OPSET + 4:
            raise GraphError(f"it needs operator set {opset.version}; BloodCell reads 7 to {OPSET + 4}")
    if len(model.functions):
        raise GraphError("it defines functions of its own")
    nodes = model.graph.node
    if len(nodes) > MAX_NODES:
        raise GraphError(f"it has {len(nodes)} operations, more than any BloodCell network ({MAX_NODES})")
    for node in nodes:
        if node.domain not in STANDARD_DOMAINS or node.op_type not in ALLOWED_OPERATORS:
            raise GraphError(f"it uses the operator {node.op_type[:80]!r}, which BloodCell networks never use")
        if any(attribute.g.node or attribute.graphs for attribute in node.attribute):
            raise GraphError(f"its {node.op_type} operation carries a subgraph")


def _check_weights(graph) -> None:
    from onnx import AttributeProto, TensorProto, numpy_helper

    if len(graph.sparse_initializer):
        raise GraphError("it holds sparse weights, which BloodCell networks never use")
    attributes = [attribute for node in graph.node for attribute in node.attribute]
    # A sparse tensor's values escape the checks below (and may name a file): none, anywhere.
    if any(
        a.type in (AttributeProto.SPARSE_TENSOR, AttributeProto.SPARSE_TENSORS) or a.HasField("sparse_tensor")
        or len(a.sparse_tensors) for a in attributes
    ):  # fmt: skip
        raise GraphError("it holds a sparse constant, which BloodCell networks never use")
    tensors = list(graph.initializer) + [a.t for a in attributes if a.HasField("t")]
    tensors += [tensor for a in attributes for tensor in a.tensors]
    for tensor in tensors:
        if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
            raise GraphError(f"its weight {tensor.name[:80]!r} refers to a file outside the model file")
        try:
            values = numpy_helper.to_array(tensor)
        except Exception as error:  # noqa: BLE001 - any malformed tensor is the same refusal
            raise GraphError(f"its weight {tensor.name[:80]!r} cannot be read ({type(error).__name__})") from None
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise GraphError(f"its weight {tensor.name[:80]!r} holds NaN or infinite numbers")


def _check_signature(graph, classes: int, width: int, height: int) -> None:
    from onnx import TensorProto

    weights = {tensor.name for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in weights]
    if [value.name for value in inputs] != [INPUT]:
        raise GraphError(f"its inputs are {[v.name[:40] for v in inputs]}, not [{INPUT!r}]")
    if [value.name for value in graph.output] != list(OUTPUTS):
        raise GraphError(f"its outputs are {[v.name[:40] for v in graph.output]}, not {list(OUTPUTS)}")
    if inputs[0].type.tensor_type.elem_type != TensorProto.UINT8:
        raise GraphError(f"its {INPUT!r} is not a tensor of bytes (uint8)")
    for value in graph.output:
        if value.type.tensor_type.elem_type != TensorProto.FLOAT:
            raise GraphError(f"its {value.name!r} is not a float32 tensor")
    pixels = inputs[0]
    for value, rank in ((pixels, 4), (graph.output[0], 2), (graph.output[1], 2)):
        if len(value.type.tensor_type.shape.dim) != rank:
            raise GraphError(f"its {value.name!r} has {len(value.type.tensor_type.shape.dim)} dimensions, not {rank}")
    if [_dimension(pixels, axis) for axis in (1, 2, 3)] != [3, height, width]:
        raise GraphError(f"it takes {_shape(pixels)} pixels, but the header says 3x{height}x{width}")
    if _dimension(graph.output[0], 1) != classes:
        raise GraphError(f"it gives {_shape(graph.output[0])} class scores, but the header names {classes} classes")
    features = _dimension(graph.output[1], 1)
    if features is None or not 1 <= features <= MAX_FEATURES:
        raise GraphError(f"its feature vector has {features} values")
    for value in (pixels, *graph.output):
        if _dimension(value, 0) is not None:  # fixed batch sizes would refuse every other batch
            raise GraphError(f"its {value.name!r} has a fixed batch size")


def _dimension(value, axis: int) -> int | None:
    """A fixed dimension of a graph input or output, None when it is symbolic or absent."""
    dims = value.type.tensor_type.shape.dim
    if axis >= len(dims) or not dims[axis].HasField("dim_value"):
        return None
    return int(dims[axis].dim_value)


def _shape(value) -> str:
    dims = value.type.tensor_type.shape.dim
    return "x".join(str(d.dim_value) if d.HasField("dim_value") else "?" for d in dims)
