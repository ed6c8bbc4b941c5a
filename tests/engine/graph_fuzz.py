"""Fuzzing of model files' graphs, run in a process of its own so that its peak memory is its own:
`python graph_fuzz.py CASES SEED IMAGE...` prints one JSON summary line.

Each case is the shipped default with a random chain of allowed operators (random shapes and
attributes, some absurd) spliced into its first graph: as a side computation added to the
logits, or in place of an intermediate tensor. Each file must either classify the images or be
refused with a ModelFileError naming it; anything else is a crash."""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from model.common.resources import default_model_path
from model.fileformat.graphs import load_graphs
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import ModelFileError

UNARY = ["Relu", "Sigmoid", "HardSigmoid", "HardSwish", "Identity", "Softmax", "Clip"]
BINARY = ["Add", "Mul", "Sub", "Div", "Max", "Min"]


class Chain:
    def __init__(self, rng: np.random.Generator, prefix: str) -> None:
        self.rng, self.prefix, self.nodes, self.weights, self.count = rng, prefix, [], [], 0

    def name(self) -> str:
        self.count += 1
        return f"{self.prefix}_{self.count}"

    def constant(self, values, dtype=np.int64) -> str:
        name = self.name()
        self.weights.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), name))
        return name

    def size(self) -> int:
        """Mostly ordinary sizes, sometimes absurd ones."""
        return int(self.rng.choice([1, 2, 3, 7, 64, 1000, 40_000, 10**8]))

    def step(self, x: str) -> str:
        rng, out = self.rng, self.name()
        kind = rng.integers(0, 12)
        if kind == 0:
            self.nodes.append(helper.make_node(str(rng.choice(UNARY)), [x], [out]))
        elif kind == 1:
            scale = self.constant([rng.normal() * 10.0 ** rng.integers(-3, 35)], np.float32)
            self.nodes.append(helper.make_node(str(rng.choice(BINARY)), [x, scale], [out]))
        elif kind == 2:
            self.nodes.append(helper.make_node("Reshape", [x, self.constant([self.size(), -1])], [out]))
        elif kind == 3:
            self.nodes.append(helper.make_node("Flatten", [x], [out], axis=int(rng.integers(0, 2))))
        elif kind == 4:
            pads = [int(rng.choice([0, 1, 5, 1000])) for _ in range(8)]
            self.nodes.append(helper.make_node("Pad", [x, self.constant(pads)], [out]))
        elif kind == 5:
            shape = self.constant([self.size(), self.size()])
            waste = self.name()
            self.nodes.append(helper.make_node("ConstantOfShape", [shape], [waste]))
            self.nodes.append(helper.make_node("Cast", [waste], [out], to=TensorProto.FLOAT))
        elif kind == 6:
            self.nodes.append(helper.make_node("Concat", [x] * int(rng.integers(2, 5)), [out], axis=0))
        elif kind == 7:
            indices = self.constant([int(rng.integers(-3, 300)) for _ in range(int(rng.integers(1, 4)))])
            self.nodes.append(helper.make_node("Gather", [x, indices], [out], axis=int(rng.integers(0, 2))))
        elif kind == 8:
            weight = self.constant(rng.normal(size=(int(rng.choice([1, 4, 64, 128, 256])), 8)), np.float32)
            self.nodes.append(helper.make_node("MatMul", [x, weight], [out]))
        elif kind == 9:
            self.nodes.append(helper.make_node("ReduceMean", [x], [out], keepdims=int(rng.integers(0, 2))))
        elif kind == 10:
            kernel = int(rng.choice([1, 2, 3, 50]))
            pool = str(rng.choice(["MaxPool", "AveragePool"]))
            self.nodes.append(helper.make_node(pool, [x], [out], kernel_shape=[kernel, kernel]))
        else:
            self.nodes.append(helper.make_node("Transpose", [x], [out]))
        return out


def fuzzed(model: onnx.ModelProto, rng: np.random.Generator, case: int) -> onnx.ModelProto:
    graph = model.graph
    float_values = [node.output[0] for node in graph.node if node.op_type in ("Conv", "Relu", "Gemm", "MaxPool")]
    start = str(rng.choice(float_values))
    chain = Chain(rng, f"fuzz{case}")
    x = start
    for _ in range(int(rng.integers(1, 6))):
        x = chain.step(x)
    graph.initializer.extend(chain.weights)
    if rng.random() < 0.5:  # a side computation whose mean is added to the logits
        for node in graph.node:
            node.output[:] = ["logits_raw" if n == "logits" else n for n in node.output]
        mean = chain.name()
        chain.nodes += [
            helper.make_node("ReduceMean", [x], [mean], keepdims=0),
            helper.make_node("Add", ["logits_raw", mean], ["logits"]),
        ]
        graph.node.extend(chain.nodes)
    else:  # the chain's output replaces `start` for everything after it
        position = next(i for i, node in enumerate(graph.node) if start in node.output) + 1
        for node in list(graph.node)[position:]:
            node.input[:] = [x if n == start else n for n in node.input]
        for offset, node in enumerate(chain.nodes):
            graph.node.insert(position + offset, node)
    return model


def main() -> int:
    cases, seed, images = int(sys.argv[1]), int(sys.argv[2]), [Path(p) for p in sys.argv[3:]]
    rng = np.random.default_rng(seed)
    source = default_model_path()
    arrays = load_file(source)
    with safe_open(source, "np") as stream:
        metadata = stream.metadata()
    started = time.perf_counter()
    assert len(list(open_classifier(load_graphs(source), "cpu", backend="onnx").classify(images))) == len(images)
    normal = time.perf_counter() - started
    outcomes = {"classified": 0, "refused": 0}
    crashes, unnamed, seconds = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for case in range(cases):
            model = fuzzed(onnx.load_model_from_string(arrays["onnx.0"].tobytes()), rng, case)
            target = Path(scratch) / f"fuzz-{case}.safetensors"
            copy = dict(arrays)
            copy["onnx.0"] = np.frombuffer(model.SerializeToString(), dtype=np.uint8).copy()
            save_file(copy, target, metadata=metadata)
            started = time.perf_counter()
            try:
                classifier = open_classifier(load_graphs(target), "cpu", backend="onnx")
                results = list(classifier.classify(images))
                outcomes["classified"] += 1
            except ModelFileError as error:
                outcomes["refused"] += 1
                if str(target) not in str(error):
                    unnamed.append(str(error)[:200])
            except Exception:  # noqa: BLE001 - a crash is what this counts
                crashes.append(traceback.format_exc(limit=3)[-600:])
            else:
                assert len(results) == len(images)
            seconds.append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**outcomes, "crashes": crashes, "unnamed": unnamed, "peak_mb": peak_mb,
                      "slowest_s": max(seconds), "normal_s": normal}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
