"""What running an ONNX graph can cost, known before ONNX Runtime sees it.

A graph of allowed operators can still ask for anything: ConstantOfShape 40000x40000, a Pad of
a thousand pixels, a shape read off the batch, a hundred chained MatMuls. So every intermediate
tensor's shape is inferred for a batch of one and for the largest batch a backend passes
(`MAX_BATCH`; larger batches are split), with the input's height and width fixed by the header,
and a graph is refused when

- any size cannot be known from the file alone (it would depend on the pictures), or
- one tensor, all tensors together, or the arithmetic exceed the limits below.

The limits come from the networks BloodCell makes, measured per image and per input pixel by
this module (the largest, in brackets): one tensor 64 elements per pixel (EfficientNet-Lite0:
24; the seed networks: 4), all tensors together 1,024 (EfficientNet-Lite0: 368; ResNet-34: 189;
the shipped seed-deep-instance: 80), 600,000 operations per pixel (ResNet-34: 146,000; the
shipped network: 11,000). A 128x128 network may so use at most 4 MiB in one tensor and 64 MiB in
all of them per image, and about 10 GFLOP per image: never gigabytes, never minutes.

Shapes computed from constants (EfficientNet's static padding: Concat, Slice, Transpose, Cast of
constants) are folded first, each step itself bounded, so that they count as known.
"""

from __future__ import annotations

import numpy as np

MAX_BATCH = 64
MAX_TENSOR_PER_PIXEL = 64
MAX_TOTAL_PER_PIXEL = 1024
MAX_FLOPS_PER_PIXEL = 600_000
# Constants folded are shapes, pads and indices, never feature maps.
MAX_FOLDED_ELEMENTS = 4096
FOLDABLE = frozenset(
    {"Constant", "ConstantOfShape", "Concat", "Reshape", "Slice", "Transpose", "Cast", "Gather", "Unsqueeze",
     "Squeeze", "Add", "Sub", "Mul", "Div", "Identity", "Max", "Min", "Flatten"}
)  # fmt: skip


class BoundsError(ValueError):
    """What a graph would cost that no BloodCell network does, in words."""


def check_bounds(model, width: int, height: int) -> None:
    """Raise BoundsError unless every intermediate of `model` (an onnx ModelProto, already
    checked for operators and signature) has a known, bounded size at batch 1 and MAX_BATCH."""
    folded = fold_constants(model)
    pixels = width * height
    for batch in (1, MAX_BATCH):
        sizes, flops = measure(folded, batch)
        largest = max(sizes.values(), default=0)
        if largest > MAX_TENSOR_PER_PIXEL * pixels * batch:
            name = max(sizes, key=lambda tensor: sizes[tensor])
            raise BoundsError(
                f"its tensor {name[:60]!r} would hold {largest:,} numbers for a batch of {batch}, more than "
                f"{MAX_TENSOR_PER_PIXEL} per input pixel"
            )
        if sum(sizes.values()) > MAX_TOTAL_PER_PIXEL * pixels * batch:
            raise BoundsError(
                f"its tensors would hold {sum(sizes.values()):,} numbers for a batch of {batch}, more than "
                f"{MAX_TOTAL_PER_PIXEL} per input pixel"
            )
        if flops > MAX_FLOPS_PER_PIXEL * pixels * batch:
            raise BoundsError(
                f"it would take {flops:.2g} operations for a batch of {batch}, more than "
                f"{MAX_FLOPS_PER_PIXEL:,} per input pixel"
            )


def fold_constants(model):
    """A copy of `model` whose nodes computed from constants alone are replaced by their values
    (as initializers). Each folded value is small (MAX_FOLDED_ELEMENTS); a node that would be
    larger is left as it is, for `measure` to judge."""
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    folded = onnx.ModelProto()
    folded.CopyFrom(model)
    graph = folded.graph
    known = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    kept, values = [], {}
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type not in FOLDABLE or not all(name in known for name in inputs) or not _small(node, known):
            kept.append(node)
            continue
        try:
            outputs = ReferenceEvaluator(node).run(None, {name: known[name] for name in inputs})
        except Exception:  # noqa: BLE001 - left for the runtime to judge, as any unfolded node
            kept.append(node)
            continue
        if any(np.asarray(value).size > MAX_FOLDED_ELEMENTS for value in outputs):
            kept.append(node)
            continue
        for name, value in zip(node.output, outputs, strict=False):
            known[name] = values[name] = np.asarray(value)
    used = {name for node in kept for name in node.input} | {value.name for value in graph.output}
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in values.items() if name in used)
    return folded


def _small(node, known: dict[str, np.ndarray]) -> bool:
    """Whether folding `node` handles only small arrays (ConstantOfShape's size is its input's values)."""
    inputs = [known[name] for name in node.input if name]
    if any(value.size > MAX_FOLDED_ELEMENTS for value in inputs):
        return False
    if node.op_type == "ConstantOfShape":
        shape = inputs[0].astype(np.float64)
        return bool((shape >= 0).all()) and float(np.prod(shape)) <= MAX_FOLDED_ELEMENTS
    if node.op_type == "Constant":
        return all(attribute.t.ByteSize() <= 8 * MAX_FOLDED_ELEMENTS for attribute in node.attribute)
    return True


def measure(model, batch: int) -> tuple[dict[str, int], float]:
    """Every node output's number of elements, and the graph's arithmetic, at `batch`."""
    import onnx
    from onnx import shape_inference

    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value = batch
    try:
        inferred = shape_inference.infer_shapes(fixed, check_type=True, strict_mode=True, data_prop=True)
    except Exception as error:  # noqa: BLE001 - onnx raises several types for an inconsistent graph
        raise BoundsError(f"its shapes are inconsistent ({str(error).strip().splitlines()[0][:160]})") from None
    values = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input]}
    weights = {tensor.name: tuple(tensor.dims) for tensor in inferred.graph.initializer}
    sizes: dict[str, int] = {}
    flops = 0.0
    for node in inferred.graph.node:
        shapes = []
        for name in node.output:
            shape = _static_shape(values.get(name))
            if shape is None:
                raise BoundsError(
                    f"the size of its {node.op_type} operation's output depends on the pictures, so what it "
                    "would cost cannot be known before it runs"
                )
            sizes[name] = int(np.prod(shape, dtype=np.float64)) if shape else 1
            shapes.append(shape)
        input_shapes = [weights.get(name) or _static_shape(values.get(name)) or () for name in node.input]
        flops += _flops(node, shapes[0] if shapes else (), input_shapes)
    return sizes, flops


def _static_shape(value) -> tuple[int, ...] | None:
    if value is None or not value.type.HasField("tensor_type"):
        return None
    dims = value.type.tensor_type.shape.dim
    if not value.type.tensor_type.HasField("shape") or not all(d.HasField("dim_value") for d in dims):
        return None
    return tuple(int(d.dim_value) for d in dims)


def _flops(node, output: tuple[int, ...], inputs: list[tuple[int, ...]]) -> float:
    """Multiplications and additions of one node (convolutions and products counted exactly,
    everything else as a few operations per element it reads or writes)."""
    out = float(np.prod(output, dtype=np.float64)) if output else 1.0
    if node.op_type == "Conv" and len(inputs) > 1 and len(inputs[1]) >= 3:
        return 2 * out * float(np.prod(inputs[1][1:], dtype=np.float64))
    if node.op_type in ("MatMul", "Gemm") and inputs and inputs[0]:
        transposed = node.op_type == "Gemm" and any(a.name == "transA" and a.i for a in node.attribute)
        inner = inputs[0][-2] if transposed and len(inputs[0]) > 1 else inputs[0][-1]
        return 2 * out * inner
    if node.op_type in ("MaxPool", "AveragePool"):
        kernel = next((list(a.ints) for a in node.attribute if a.name == "kernel_shape"), [1])
        return out * float(np.prod(kernel, dtype=np.float64))
    read = sum(float(np.prod(shape, dtype=np.float64)) for shape in inputs if shape)
    return 2 * max(out, read)
