"""Model files: one `.safetensors` file holding the weights, each network's ONNX graph and a JSON
metadata document.

Loading reads and checks the header first (`model.fileformat.header`), builds the architecture in
code, then copies the tensors in: nothing in a file is ever executed, so pickles (fastai
`.pkl`, torch `.pth`) are refused outright. The ONNX graphs are what runs without torch
(`model.fileformat.graphs`); saving writes them from the same weights.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as serialize_tensors

from model.common.atomic import atomic_write_bytes
from model.fileformat.graphs import GRAPH_PREFIX, checked_graphs, checked_probes, checked_references
from model.fileformat.header import (  # noqa: F401 - the names callers have always imported from here
    ENSEMBLE,
    FORMAT,
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    MAX_HEADER_BYTES,
    METADATA_KEY,
    LoadedModel,
    ModelFileError,
    ModelInfo,
    checked_metrics,
    checked_policy,
    info_from_header,
    read_file,
    read_info,
)
from model.fileformat.probe import PREFIX as PROBE_PREFIX
from model.networks.members import networks_of, packed
from model.unfamiliar.statistics import PREFIX as UNFAMILIAR_PREFIX
from model.unfamiliar.statistics import ReferenceStatistics


def save(
    path: Path | str,
    module: torch.nn.Module,
    info: ModelInfo,
    *,
    half: bool = True,
    references: ReferenceStatistics | None = None,
    graphs: bool = True,
) -> Path:
    """Write weights, each network's ONNX graph (unless `graphs` is False) and the metadata to
    `path` atomically; floating weights stored as float16, the unfamiliar-image statistics as
    float32 (distances need the precision)."""
    tensors = {
        name: (t.detach().cpu().half() if half and t.is_floating_point() else t.detach().cpu()).contiguous()
        for name, t in module.state_dict().items()
    }
    tensors |= _graph_and_probe_tensors(module, info, tensors, graphs)
    if references is not None:
        info.unfamiliar = references.summary | {"pass_share": references.pass_share}
        tensors |= {name: torch.from_numpy(array).contiguous() for name, array in references.to_tensors().items()}
    else:
        info.unfamiliar = {}
    payload = serialize_tensors(tensors, metadata={METADATA_KEY: json.dumps(info.to_json())})
    path = Path(path)
    atomic_write_bytes(path, payload)
    return path


def _graph_and_probe_tensors(
    module: torch.nn.Module, info: ModelInfo, weights: dict[str, torch.Tensor], graphs: bool
) -> dict:
    """Each network's answers on the probe (model.fileformat.probe) from `weights` (the values as stored)
    and, unless `graphs` is False, its ONNX graph as a tensor of bytes, exported from the same
    weights, checked as a loader will check it, and giving the same answers."""
    from model.fileformat.onnx_graph import GraphError, check_graph
    from model.fileformat.probe import ProbeMismatch, check_answers
    from model.inference.backends.onnx_backend import graph_answers
    from model.inference.backends.torch_backend import probe_record
    from model.modelfile.onnx_export import export_network

    stored = copy.deepcopy(module).cpu().float()
    stored.load_state_dict(weights)
    networks = networks_of(stored, info.is_ensemble)
    tensors: dict[str, torch.Tensor] = {}
    for index, (network, network_info) in enumerate(zip(networks, info.networks, strict=True)):
        record = probe_record(network.eval(), network_info.policy)
        tensors |= {name: torch.from_numpy(array) for name, array in record.tensors(index).items()}
        if not graphs:
            continue
        width, height = network_info.policy.width, network_info.policy.height
        graph = export_network(network, network_info.policy)
        try:
            check_graph(graph, classes=len(info.classes), width=width, height=height)
            check_answers("<saving>", index, record, *graph_answers(graph, width, height), backend="ONNX Runtime")
        except GraphError as error:  # a diverged training (NaN weights) ends here, not in a file
            raise ValueError(f"the network cannot be saved: {error}") from None
        except ProbeMismatch as error:
            raise ValueError(f"the exported graph is not the network: {error}") from None
        tensors[f"{GRAPH_PREFIX}{index}"] = torch.frombuffer(bytearray(graph), dtype=torch.uint8)
    return tensors


def load(path: Path | str) -> LoadedModel:
    """Rebuild the network named in the file and load its weights, in float32, on the CPU; its
    ONNX graphs and unfamiliar-image statistics come along, checked.

    The header is checked before any network is built, and the weights before they are used:
    every number finite, every BatchNorm variance at least 0, every tensor of the right shape.
    """
    from model.inference.backends.torch_backend import last_linear
    from model.networks.build import ArchitectureError, build_model

    path = Path(path)
    header, raw = read_file(path)
    info = info_from_header(path, header)
    try:
        networks = [build_model(network.arch, len(info.classes)) for network in info.networks]
        module = packed(networks, info.is_ensemble)
    except ArchitectureError as error:
        raise ModelFileError(path, str(error)) from None
    try:
        tensors = load_tensors(raw)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise ModelFileError(path, f"the weights cannot be read ({error})") from None
    stored = {name: tensors.pop(name) for name in [n for n in tensors if n.startswith(UNFAMILIAR_PREFIX)]}
    stored_graphs = {name: tensors.pop(name) for name in [n for n in tensors if n.startswith(GRAPH_PREFIX)]}
    stored_probes = {name: tensors.pop(name) for name in [n for n in tensors if n.startswith(PROBE_PREFIX)]}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong_shape = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong_shape:
        raise ModelFileError(
            path,
            f"the weights do not fit a {info.arch!r} network with {len(info.classes)} classes "
            f"({len(missing)} missing, {len(unexpected)} unexpected, {len(wrong_shape)} of the wrong shape)",
        )
    problem = weights_problem(tensors)
    if problem:
        raise ModelFileError(path, problem)
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    heads = [last_linear(network) for network in networks_of(module, info.is_ensemble)]
    feature_sizes = [head.in_features if head is not None else 0 for head in heads]
    graphs, graph_sizes = checked_graphs(path, info, {name: t.numpy() for name, t in stored_graphs.items()})
    if graphs and graph_sizes != feature_sizes:
        raise ModelFileError(path, "its ONNX graphs do not belong to its networks (their feature sizes differ)")
    if stored and not all(feature_sizes):
        raise ModelFileError(path, "unfamiliar-image statistics for a network without a final linear layer")
    references = checked_references(path, info, {name: t.float().numpy() for name, t in stored.items()}, feature_sizes)
    probes = checked_probes(path, info, {name: t.float().numpy() for name, t in stored_probes.items()}, feature_sizes)
    return LoadedModel(module=module.eval(), info=info, path=path, references=references, graphs=graphs, probes=probes)


def weights_problem(tensors: dict[str, torch.Tensor]) -> str | None:
    """Why these weights would give meaningless answers, or None."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return f"the weights contain NaN or infinite numbers ({name}); the model cannot give valid answers"
        if name.endswith("running_var") and bool((tensor < 0).any()):
            return f"a BatchNorm variance is negative ({name}); the weights are damaged"
    return None
