"""Ensembles: several trained networks combined into one model file, their probabilities averaged.

Networks trained differently (another framing of the image, another architecture) make
different mistakes; averaging their class probabilities keeps what they agree on. Each member
keeps its own input policy, test-time views and training record in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from model.modelfile.torch_file import ENSEMBLE, LoadedModel, ModelInfo, load
from model.networks.members import packed


class EnsembleError(ValueError):
    pass


def combine(paths: Sequence[Path | str], *, name: str, notes: str = "") -> LoadedModel:
    """One model averaging the model files at `paths`, which must share their class list."""
    if len(paths) < 2:
        raise EnsembleError("an ensemble needs at least two model files")
    members = [load(path) for path in paths]
    classes = members[0].info.classes
    for member in members:
        if member.info.is_ensemble:
            raise EnsembleError(f"{member.path}: is an ensemble already; combine its members instead")
        if member.info.classes != classes:
            raise EnsembleError(
                f"{member.path}: its classes ({', '.join(member.info.classes)}) differ from "
                f"{members[0].path}'s ({', '.join(classes)})"
            )
    info = ModelInfo(
        arch=ENSEMBLE,
        classes=list(classes),
        policy=members[0].info.policy,
        name=name,
        notes=notes,
        members=[member.info for member in members],
    )
    return LoadedModel(
        module=packed([member.module for member in members], ensemble=True), info=info, path=Path("<unsaved>")
    )
