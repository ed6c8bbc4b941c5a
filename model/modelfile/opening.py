"""Which backend classifies: the one rule, and the one way to make a Classifier.

- A GPU runs torch (half precision; ONNX Runtime's CPU build has no GPU).
- On the CPU, a model whose file carries ONNX graphs runs on ONNX Runtime: faster on this
  project's CPUs (bench/onnx_vs_torch.py) and, loading no torch at all, quicker to start.
- A model without graphs (just trained or adapted and not saved yet, or a file saved before
  graphs existed) runs on torch where torch is installed.
- BloodCell Review has no torch: it runs graphs only, and says how to convert an older file.

`BLOODCELL_BACKEND=torch|onnx` (or `backend=`) overrides the choice, for benchmarks and checks.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from model.common.editions import torch_installed
from model.fileformat.header import LoadedModel, read_file
from model.inference.classifier import Classifier

AUTO, TORCH, ONNX = "auto", "torch", "onnx"
BACKENDS = (AUTO, TORCH, ONNX)
# The torch side is imported by name, and only once chosen: the import contract in pyproject
# can then hold that nothing on the classify path imports torch (BloodCell Review has none).
TORCH_LOADER, TORCH_BACKEND = "model.modelfile.torch_file", "model.inference.backends.torch_backend"


def open_classifier(source: LoadedModel | Path | str, device: str = AUTO, backend: str | None = None) -> Classifier:
    """A Classifier for a model file or an already loaded model, on the backend the rule picks."""
    backend = backend or os.environ.get("BLOODCELL_BACKEND") or AUTO
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    on_gpu = str(device).startswith("cuda") or (backend == AUTO and _wants_gpu(device))
    if isinstance(source, LoadedModel):
        return _classifier(source, device, backend, on_gpu)
    path = Path(source)
    if backend == TORCH or on_gpu or (backend == AUTO and torch_installed() and not _file_has_graphs(path)):
        return _classifier(_torch_side(TORCH_LOADER).load(path), device, TORCH, on_gpu)
    from model.fileformat.graphs import load_graphs

    return _classifier(load_graphs(path), device, ONNX, on_gpu)


def _classifier(loaded: LoadedModel, device: str, backend: str, on_gpu: bool) -> Classifier:
    use_torch = backend == TORCH or on_gpu or (backend == AUTO and not loaded.graphs)
    if use_torch:
        if loaded.module is None or not torch_installed():
            raise ValueError(f"{loaded.path}: this build of BloodCell runs models on ONNX Runtime only")
        return Classifier(loaded, _torch_side(TORCH_BACKEND).TorchBackend(loaded, device))
    from model.inference.backends.onnx_backend import OnnxBackend

    return Classifier(loaded, OnnxBackend(loaded))


def _wants_gpu(device: str) -> bool:
    """Whether `device` means a CUDA GPU (asked for, or 'auto' on a machine that has one)."""
    if device in (AUTO, "", None):
        if not torch_installed():
            return False
        return _torch_side("model.inference.devices").resolve_device(AUTO).type == "cuda"
    if str(device).startswith("cuda"):
        if not torch_installed():
            raise ValueError(f"device {device!r} was asked for, but this build of BloodCell classifies on the CPU")
        return True
    return False


def _file_has_graphs(path: Path) -> bool:
    from model.fileformat.graphs import has_graphs

    header, _ = read_file(path, header_only=True)
    return has_graphs(header)


def _torch_side(module: str):
    if not torch_installed():
        raise ValueError("this build of BloodCell runs models on ONNX Runtime only")
    return importlib.import_module(module)
