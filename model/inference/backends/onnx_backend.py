"""Running a model's networks with ONNX Runtime on the CPU, without torch.

The graphs come from the model file (`model.fileformat.graphs`, checked by `model.fileformat.onnx_graph`) and
normalise the pixels themselves, as the torch backend does; the test-time views are the same
as the torch backend's (model.images.symmetry), taken here in numpy of the batch `model.inference.classifier` prepared.

Each (network, view) pass of a batch is a task of its own, run on a pool of one thread per core,
each session single-threaded: on this project's 2-core CPU that made end-to-end classification
of TEST ~1.27x faster than one pass at a time with ONNX Runtime's own 2 threads per pass (86.5
against 67.9 images/s; the runtime's threads wait for each other between the many small layers,
a pass per core does not). With fewer passes than cores, each pass gets the spare cores as its
own threads. bench/onnx_vs_torch.py measures it against torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from model.common.cores import available_cores
from model.fileformat.graph_bounds import MAX_BATCH
from model.fileformat.graphs import NO_GRAPHS
from model.fileformat.header import LoadedModel, ModelFileError
from model.fileformat.onnx_graph import INPUT, OUTPUTS
from model.fileformat.probe import ProbeMismatch, check_answers, probe_pixels
from model.images.symmetry import numpy_views
from model.inference.classifier import ViewOutputs

PROVIDER = "CPUExecutionProvider"
UNCHECKABLE = (
    "its ONNX graphs carry no record of what the network answers (the file was saved by an earlier "
    "BloodCell), so they cannot be checked against its weights; in the full BloodCell, "
    "`bloodcell convert MODEL --out NEW` writes a copy that can be checked"
)


@dataclass
class _Session:
    session: object
    views: str


class OnnxBackend:
    """A loaded model's ONNX graphs, one inference session per network, on the CPU."""

    def __init__(self, loaded: LoadedModel, cores: int | None = None) -> None:
        import onnxruntime

        # The runtime's own log lines (coloured, about graph optimisation) mean nothing to a
        # technician; what goes wrong is raised and said once, naming the file.
        onnxruntime.set_default_logger_severity(4)

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
        options.log_severity_level = 4
        self._sessions = [
            _Session(_session(loaded, index, options), network.test_time_views)
            for index, network in enumerate(loaded.info.networks)
        ]
        for index, session in enumerate(self._sessions):
            _check_against_probe(loaded, index, session.session)

    def describe(self) -> str:
        return "CPU (ONNX Runtime)"

    def run(self, batches: Sequence[np.ndarray]) -> list[ViewOutputs]:
        """Each network's logits and features, view by view, for one NHWC uint8 batch per network.
        A graph never sees more than MAX_BATCH pictures at once: the size its costs were bounded at."""
        passes = []
        for network, pixels in zip(self._sessions, batches, strict=True):
            views = numpy_views(network.views)
            chunks = [pixels[start : start + MAX_BATCH] for start in range(0, len(pixels), MAX_BATCH)] or [pixels]
            passes.append(
                [[self._pool.submit(_run_view, network.session, view, chunk) for chunk in chunks] for view in views]
            )
        answers = []
        for network_passes in passes:
            outputs = [[chunk.result() for chunk in chunks] for chunks in network_passes]
            logits = np.stack([np.concatenate([o[0] for o in chunks]) for chunks in outputs])
            features = np.stack([np.concatenate([o[1] for o in chunks]) for chunks in outputs])
            answers.append(ViewOutputs(logits, features))
        return answers


def _session(loaded: LoadedModel, index: int, options):
    """An inference session for network `index`; a graph the runtime will not take (it passed
    model.fileformat.onnx_graph's checks, but the runtime checks types and shapes further) is the file's
    fault, named as such."""
    import onnxruntime

    try:
        return onnxruntime.InferenceSession(loaded.graphs[index], options, providers=[PROVIDER])
    except Exception as error:  # noqa: BLE001 - the runtime's own exception types vary by version
        reason = _first_line(error)
        raise ModelFileError(loaded.path, f"ONNX Runtime refuses its graph onnx.{index} ({reason})") from None


def _check_against_probe(loaded: LoadedModel, index: int, session) -> None:
    """The graph gives the answers the file recorded for its network (model.fileformat.probe), or the file
    is refused by name before any image is classified."""
    if not loaded.probes:
        raise ModelFileError(loaded.path, UNCHECKABLE)
    policy = loaded.info.networks[index].policy
    try:
        logits, features = _run_view(session, lambda batch: batch, probe_pixels(policy.height, policy.width))
        check_answers(loaded.path, index, loaded.probes[index], logits, features, backend="ONNX Runtime")
    except ProbeMismatch as error:
        raise ModelFileError(loaded.path, str(error)) from None
    except Exception as error:  # noqa: BLE001 - the runtime's own exception types vary by version
        reason = _first_line(error)
        raise ModelFileError(loaded.path, f"its graph onnx.{index} fails on a test picture ({reason})") from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__


def graph_answers(graph: bytes, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """What a graph answers on the probe (model.fileformat.probe): logits and features."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(graph, options, providers=[PROVIDER])
    logits, features = _run_view(session, lambda batch: batch, probe_pixels(height, width))
    return logits, features


def _run_view(session, view, pixels: np.ndarray) -> list[np.ndarray]:
    """One pass: the view of the NHWC uint8 batch, as the graph's NCHW input."""
    return session.run(list(OUTPUTS), {INPUT: np.ascontiguousarray(view(pixels).transpose(0, 3, 1, 2))})
