"""Running a model's networks with ONNX Runtime on the CPU, without torch.

The graphs come from the model file (`model.graph_file`, checked by `model.onnx_graph`); the
normalisation and the test-time views are the same as the torch backend's, done here in numpy
on the batch that `model.infer` prepared. Measured on this project's 2-core CPU: the forward
pass of the default network runs ~1.7x faster than torch's (bench/onnx_vs_torch.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.infer import ViewOutputs
from model.model_header import LoadedModel
from model.onnx_graph import INPUT, OUTPUTS
from model.symmetry import numpy_views

PROVIDER = "CPUExecutionProvider"


class OnnxBackendError(RuntimeError):
    pass


@dataclass
class _Session:
    session: object
    mean: np.ndarray
    std: np.ndarray
    views: str


class OnnxBackend:
    """A loaded model's ONNX graphs, one inference session per network, on the CPU."""

    name = "ONNX Runtime"

    def __init__(self, loaded: LoadedModel, threads: int | None = None) -> None:
        import onnxruntime

        if len(loaded.graphs) != len(loaded.info.networks):
            raise OnnxBackendError(f"{loaded.path}: the model file holds no ONNX graph for each of its networks")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Idle worker threads spinning would take the CPU from the threads decoding the next batch.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._sessions = [
            _Session(
                onnxruntime.InferenceSession(graph, options, providers=[PROVIDER]),
                np.asarray(network.policy.mean, dtype=np.float32),
                np.asarray(network.policy.std, dtype=np.float32),
                network.test_time_views,
            )
            for graph, network in zip(loaded.graphs, loaded.info.networks, strict=True)
        ]

    def describe(self) -> str:
        return "CPU (ONNX Runtime)"

    def run(self, batches: Sequence[np.ndarray]) -> list[ViewOutputs]:
        """Each network's logits and features, view by view, for one NHWC uint8 batch per network."""
        answers = []
        for network, pixels in zip(self._sessions, batches, strict=True):
            normalised = (pixels.astype(np.float32) / np.float32(255) - network.mean) / network.std
            logits, features = [], []
            for view in numpy_views(network.views):
                chw = np.ascontiguousarray(view(normalised).transpose(0, 3, 1, 2))
                view_logits, view_features = network.session.run(list(OUTPUTS), {INPUT: chw})
                logits.append(view_logits)
                features.append(view_features)
            answers.append(ViewOutputs(np.stack(logits), np.stack(features)))
        return answers
