"""Helpers shared by every tier of tests, without Qt: the development data, model files, edited
JSON documents. Qt helpers live in tests/gui/qt_helpers.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from tools.dev_data import BLOOD_CELLS, PBC

if TYPE_CHECKING:
    import torch

    from model.images.preprocess import InputPolicy

REPO = Path(__file__).resolve().parent.parent
DATA = BLOOD_CELLS
CLASSES = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"]


def real_data() -> Path:
    if not (DATA / "TRAIN").is_dir():
        pytest.fail(f"the blood-cells data set is expected at {DATA} (set BLOODCELL_DATA)")
    return DATA


def pbc_data() -> Path:
    """The second lab's images (one cell each, class folders)."""
    if not (PBC / "EOSINOPHIL").is_dir():
        pytest.fail(f"the pbc data set is expected at {PBC}")
    return PBC


def pbc_cells(per_class: dict[str, int], offset: int = 0) -> list:
    """Real cells of the second lab (model.review.verified.VerifiedCell), `per_class[name]` of each class."""
    from model.review.verified import VerifiedCell

    cells = []
    for name, count in per_class.items():
        files = sorted((pbc_data() / name).iterdir())[offset : offset + count]
        cells += [VerifiedCell(path, name) for path in files]
    return cells


def with_lab_statistics(network: torch.nn.Module) -> torch.nn.Module:
    """`network` with BatchNorm running statistics that are not the identity, as a trained
    network has: folding them into the weights and re-measuring them then change something."""
    import torch  # here, not at the top: the Review edition's GUI tests run with torch blocked

    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return network


def augmented_copy(image: Image.Image, angle: float, flip: bool, shift: tuple[int, int]) -> Image.Image:
    """What the data set's augmentation did: rotate (black corners), flip, shift; the cell stays in view."""
    from model.images.cell_locator import locate_stained_cell

    copy = image.rotate(angle, resample=Image.Resampling.BILINEAR, center=locate_stained_cell(image), translate=shift)
    return copy.transpose(Image.Transpose.FLIP_TOP_BOTTOM) if flip else copy


def cells_inside_the_frame(paths: list[Path], count: int) -> list[Path]:
    """The first `count` photos whose cell lies well inside the frame, so that a turned copy
    still shows all of it (as the data set's own copies do)."""
    from model.images.cell_locator import locate_stained_cell
    from model.images.reading import load_rgb

    inside = []
    for path in paths:
        x, y = locate_stained_cell(load_rgb(path))
        if 60 <= x <= 260 and 60 <= y <= 180:
            inside.append(path)
            if len(inside) == count:
                break
    return inside


def run_bloodcell(*args, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The `bloodcell` command in a fresh process, its output as text (odd bytes replaced)."""
    return subprocess.run(
        [sys.executable, "-m", "bloodcell_gui.entry", *map(str, args)],
        capture_output=True,
        timeout=timeout,
        cwd=cwd,
        text=True,
        errors="replace",
    )


# Values of the wrong type or size for any field of a JSON document, and DELETE: the field removed.
DELETE = object()
WRONG_VALUES = [None, True, -1, 1e308, 2**70, "", "x" * 20_000, [], {}, [[[]]], {"a": None}, "NaN", DELETE]


def every_node(node, where: tuple = (), list_items: int | None = None):
    """The path to every value inside a JSON document (of each list, the first `list_items`)."""
    if where:
        yield where
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))[:list_items]
    else:
        children = []
    for key, child in children:
        yield from every_node(child, (*where, key), list_items)


def with_value(document, where: tuple, value):
    """A copy of a JSON document with the value at `where` replaced (or removed: DELETE)."""
    changed = json.loads(json.dumps(document))
    parent = changed
    for key in where[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    return changed


def edited_model_file(source, target, change=None, *, raw=None, metadata_change=None, weights=None):
    """Copy a model file with its graph `onnx.0` changed (a ModelProto edited in place by
    `change`), replaced by `raw`, its stored weights edited by `weights(arrays)`, or its
    metadata changed by `metadata_change(document)`."""
    import numpy as np
    import onnx
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    arrays = load_file(source)
    with safe_open(source, "np") as stream:
        metadata = stream.metadata()
    if change is not None:
        model = onnx.load_model_from_string(arrays["onnx.0"].tobytes())
        change(model)
        arrays["onnx.0"] = np.frombuffer(model.SerializeToString(), dtype=np.uint8).copy()
    if raw is not None:
        arrays["onnx.0"] = raw
    if weights is not None:
        weights(arrays)
    if metadata_change is not None:
        document = json.loads(metadata["bloodcell"])
        metadata_change(document)
        metadata["bloodcell"] = json.dumps(document)
    save_file(arrays, target, metadata=metadata)
    return target


def edited_default(target, change=None, *, weights=None):
    """A copy of the shipped default with its first network's graph edited by `change(model)`,
    or its stored weights edited by `weights(arrays)` (the graph kept)."""
    from model.common.resources import default_model_path

    return edited_model_file(default_model_path(), target, change, weights=weights)


def rotated_classes(model) -> None:
    """An ONNX graph edited so that its last layer's class rows are rotated (the weights of the
    model file untouched): the crafted file of issue 33."""
    import numpy as np
    from onnx import numpy_helper

    last = next(node for node in model.graph.node if node.output[0] == "logits")
    for tensor in model.graph.initializer:
        if tensor.name in last.input[1:]:
            rolled = numpy_helper.to_array(tensor).copy()
            tensor.CopyFrom(numpy_helper.from_array(np.roll(rolled, 1, axis=0), tensor.name))


def seed_model_file(
    path: Path,
    *,
    arch: str = "seed",
    classes: list[str] | None = None,
    size: tuple[int, int] = (48, 48),
    policy: InputPolicy | None = None,
    **info,
) -> Path:
    """An untrained network saved as a real model file (weights, ONNX graph, probe records):
    real files, real inference, fast. `policy` (else a plain one at `size`); `info`: more
    ModelInfo fields (name, metrics, ...)."""
    from model.images.preprocess import InputPolicy
    from model.modelfile.torch_file import ModelInfo, save
    from model.networks.build import build_model

    classes = CLASSES if classes is None else classes
    policy = policy or InputPolicy(*size)
    save(path, build_model(arch, len(classes)), ModelInfo(arch=arch, classes=classes, policy=policy, **info))
    return path
