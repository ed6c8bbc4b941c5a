"""A model file's ONNX graphs and unfamiliar-image statistics, read without torch.

Since the ONNX graphs exist, `model.modelfile.torch_file.save` writes each network twice: its weights (for
training, fine-tuning and the GPU) and, as the tensor `onnx.<n>` of bytes, its graph (what
BloodCell Review and CPU classification run). This module reads the second half: it is all
that a review station without torch needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.fileformat.header import LoadedModel, ModelFileError, ModelInfo, info_from_header, read_file
from model.fileformat.onnx_graph import GraphError, check_graph
from model.fileformat.probe import PREFIX as PROBE_PREFIX
from model.fileformat.probe import records_from_tensors
from model.unfamiliar.statistics import PREFIX as UNFAMILIAR_PREFIX
from model.unfamiliar.statistics import ReferenceError, ReferenceStatistics

GRAPH_PREFIX = "onnx."
NO_GRAPHS = (
    "this model file holds no ONNX graphs (it was saved before BloodCell wrote them), so only the full "
    "BloodCell can run it; there, `bloodcell convert MODEL --out NEW` writes a copy that runs everywhere"
)


def has_graphs(header: dict) -> bool:
    """Whether a file's safetensors header lists ONNX graphs."""
    return any(isinstance(name, str) and name.startswith(GRAPH_PREFIX) for name in header)


def load_graphs(path: Path | str) -> LoadedModel:
    """The file's metadata, ONNX graphs and unfamiliar-image statistics, every part checked;
    `module` is None. Raises ModelFileError naming the file and the reason."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_arrays

    path = Path(path)
    header, raw = read_file(path)
    info = info_from_header(path, header)
    if not has_graphs(header):
        raise ModelFileError(path, NO_GRAPHS)
    try:
        arrays = load_arrays(raw)
    except (SafetensorError, ValueError, TypeError, RuntimeError) as error:
        raise ModelFileError(path, f"the weights cannot be read ({error})") from None
    stored_graphs = {name: array for name, array in arrays.items() if name.startswith(GRAPH_PREFIX)}
    graphs, feature_sizes = checked_graphs(path, info, stored_graphs)
    stored = {name: array for name, array in arrays.items() if name.startswith(UNFAMILIAR_PREFIX)}
    references = checked_references(path, info, stored, feature_sizes)
    stored_probes = {name: array for name, array in arrays.items() if name.startswith(PROBE_PREFIX)}
    probes = checked_probes(path, info, stored_probes, feature_sizes)
    return LoadedModel(module=None, info=info, path=path, references=references, graphs=graphs, probes=probes)


def checked_probes(path: Path, info: ModelInfo, stored: dict[str, np.ndarray], feature_sizes: list[int]) -> list:
    """What each network answered on the probe when saved (model.fileformat.probe), checked; [] if none."""
    try:
        return records_from_tensors(path, stored, len(info.classes), feature_sizes)
    except ValueError as error:
        raise ModelFileError(path, str(error)) from None


def checked_graphs(path: Path, info: ModelInfo, stored: dict[str, np.ndarray]) -> tuple[list[bytes], list[int]]:
    """The graphs `onnx.0` ... one per network, each checked against its network's header;
    their feature sizes. No graphs at all is allowed (older files); some but not all is not."""
    if not stored:
        return [], []
    expected = [f"{GRAPH_PREFIX}{index}" for index in range(len(info.networks))]
    if sorted(stored) != sorted(expected):
        names = ", ".join(sorted(stored)[:4])
        raise ModelFileError(path, f"the ONNX graphs stored ({names}) do not match its networks")
    graphs, sizes = [], []
    for name, network in zip(expected, info.networks, strict=True):
        array = stored[name]
        if array.dtype != np.uint8 or array.ndim != 1:
            raise ModelFileError(path, f"the ONNX graph {name} is not stored as bytes")
        graph = array.tobytes()
        try:
            sizes.append(
                check_graph(graph, classes=len(info.classes), width=network.policy.width, height=network.policy.height)
            )
        except GraphError as error:
            raise ModelFileError(path, f"the ONNX graph {name} is refused: {error}") from None
        graphs.append(graph)
    return graphs, sizes


def checked_references(
    path: Path, info: ModelInfo, stored: dict[str, np.ndarray], feature_sizes: list[int]
) -> ReferenceStatistics | None:
    """The unfamiliar-image statistics, checked against the networks' feature sizes; None if none."""
    if not stored:
        return None
    try:
        references = ReferenceStatistics.from_tensors(
            {name: np.asarray(array, dtype=np.float32) for name, array in stored.items()},
            len(info.classes),
            feature_sizes,
        )
    except ReferenceError as error:
        raise ModelFileError(path, f"the unfamiliar-image statistics are damaged: {error}") from None
    # How they were made (images fitted on, held out per lab) is in the header: kept, so that a
    # file saved again (a new name, its ONNX graphs) still says so.
    if isinstance(info.unfamiliar, dict):
        references.summary = {key: value for key, value in info.unfamiliar.items() if key != "pass_share"}
    return references
