"""Running a model's networks with ONNX Runtime on the CPU, without torch.

The graphs come from the model file (`model.graph_file`, checked by `model.onnx_graph`) and
normalise the pixels themselves, as the torch backend does; the test-time views are the same
as the torch backend's (model.symmetry), taken here in numpy of the batch `model.infer` prepared.

Each (network, view) pass of a batch is a task of its own, run on a pool of one thread per core,
each session single-threaded: on this project's 2-core CPU that made end-to-end classification
of TEST ~1.27x faster than one pass at a time with ONNX Runtime's own 2 threads per pass (86.5
against 67.9 images/s; the runtime's threads wait for each other between the many small layers,
a pass per core does not). With fewer passes than cores, each pass gets the spare cores as its
own threads. bench/onnx_vs_torch.py measures it against torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from model.graph_file import NO_GRAPHS
from model.infer import ViewOutputs
from model.model_header import LoadedModel, ModelFileError
from model.onnx_graph import INPUT, OUTPUTS
from model.symmetry import numpy_views

PROVIDER = "CPUExecutionProvider"


@dataclass
class _Session:
    session: object
    views: str


class OnnxBackend:
    """A loaded model's ONNX graphs, one inference session per network, on the CPU."""

    def __init__(self, loaded: LoadedModel, cores: int | None = None) -> None:
        import onnxruntime

        if len(loaded.graphs) != len(loaded.info.networks):
            raise ModelFileError(loaded.path, NO_GRAPHS)
        cores = cores or available_cores()
        passes = sum(len(numpy_views(network.test_time_views)) for network in loaded.info.networks)
        self._pool = ThreadPoolExecutor(max_workers=min(passes, cores), thread_name_prefix="onnx")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, cores // passes)
        options.inter_op_num_threads = 1
        # Idle worker threads spinning would take the CPU from the threads decoding the next batch.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._sessions = [
            _Session(_session(loaded, index, options), network.test_time_views)
            for index, network in enumerate(loaded.info.networks)
        ]

    def describe(self) -> str:
        return "CPU (ONNX Runtime)"

    def run(self, batches: Sequence[np.ndarray]) -> list[ViewOutputs]:
        """Each network's logits and features, view by view, for one NHWC uint8 batch per network."""
        passes = []
        for network, pixels in zip(self._sessions, batches, strict=True):
            views = numpy_views(network.views)
            passes.append([self._pool.submit(_run_view, network.session, view, pixels) for view in views])
        answers = []
        for views in passes:
            outputs = [view.result() for view in views]
            answers.append(ViewOutputs(np.stack([o[0] for o in outputs]), np.stack([o[1] for o in outputs])))
        return answers


def _session(loaded: LoadedModel, index: int, options):
    """An inference session for network `index`; a graph the runtime will not take (it passed
    model.onnx_graph's checks, but the runtime checks types and shapes further) is the file's
    fault, named as such."""
    import onnxruntime

    try:
        return onnxruntime.InferenceSession(loaded.graphs[index], options, providers=[PROVIDER])
    except Exception as error:  # noqa: BLE001 - the runtime's own exception types vary by version
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise ModelFileError(loaded.path, f"ONNX Runtime refuses its graph onnx.{index} ({reason})") from None


def _run_view(session, view, pixels: np.ndarray) -> list[np.ndarray]:
    """One pass: the view of the NHWC uint8 batch, as the graph's NCHW input."""
    return session.run(list(OUTPUTS), {INPUT: np.ascontiguousarray(view(pixels).transpose(0, 3, 1, 2))})


def available_cores() -> int:
    """The cores this process may run on (a container or affinity mask may allow fewer than exist)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)
