"""What a model file says about itself, read without torch: the JSON header, checked field by
field, and the file's bytes, refused early when they are a pickle, truncated or oversized.

Both backends read files through here: `model.modelfile.torch_file` (torch weights, for training and the
GPU) and `model.fileformat.graphs` (the ONNX graphs that BloodCell Review runs).
"""

from __future__ import annotations

import copy
import json
import os
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model import __version__
from model.fileformat.header_check import (
    MAX_INPUT_SIDE,
    MAX_MEMBERS,
    MIN_INPUT_SIDE,
    HeaderError,
    class_names,
    finite_numbers,
    fraction,
    mapping,
    records,
    text,
    whole_number,
)
from model.images.preprocess import InputPolicy
from model.images.symmetry import NONE, check_views
from model.networks.catalogue import ARCHITECTURES
from model.unfamiliar.statistics import ReferenceStatistics

FORMAT = "bloodcell-model"
FORMAT_VERSION = 2  # 2: ensembles (`members`); a single network is still written as version 1
ENSEMBLE = "ensemble"
METADATA_KEY = "bloodcell"
MAX_HEADER_BYTES = 16 * 2**20
PICKLE_PROTOCOLS = (b"\x02", b"\x03", b"\x04", b"\x05")
MAX_FILE_BYTES = 2 * 2**30


class ModelFileError(Exception):
    """A file that is not a usable BloodCell model, with the reason in plain words."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


# The "kind" of an adaptation that re-measured BatchNorm statistics on a lab's own images.
LAB_STATISTICS = "lab statistics"


@dataclass
class ModelInfo:
    """Everything a model file says about itself besides the weights."""

    arch: str
    classes: list[str]
    policy: InputPolicy
    # Which symmetric views of each image classification averages (model.images.symmetry); files
    # written before this existed used one view.
    test_time_views: str = NONE
    name: str = "BloodCell model"
    notes: str = ""
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    app_version: str = __version__
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    # An ensemble's networks, each described as a model of its own (arch ENSEMBLE); its
    # classifications average theirs, and its own `policy` is its first member's. Empty for a
    # single network.
    members: list[ModelInfo] = field(default_factory=list)
    # How the unfamiliar-image statistics stored beside the weights were made (for display).
    unfamiliar: dict = field(default_factory=dict)
    # Steps that adapted the model to a lab, oldest first, each naming its parent file (name,
    # SHA-256): fine-tunings to verified cells (model.adaptation.finetune: the cells used, the settings and
    # the before/after figures) and, with "kind" LAB_STATISTICS, normalisation re-measured on a
    # lab's unlabelled images (model.adaptation.lab_statistics: how many).
    adaptations: list[dict] = field(default_factory=list)

    def with_adaptation(self, parent_path: Path | str, parent_sha256: str, step: dict) -> ModelInfo:
        """The record of a model made from this one: `step` at the end of the chain of
        adaptations, naming this model as its parent; the figures and unfamiliar-image statistics
        measured on this model are dropped."""
        info = copy.deepcopy(self)
        info.created = datetime.now(UTC).isoformat(timespec="seconds")
        info.metrics = {}
        info.unfamiliar = {}
        parent = {
            "parent_name": self.name,
            "parent_file": Path(parent_path).name,
            "parent_sha256": parent_sha256,
            "date": info.created,
        }
        info.adaptations = [*self.adaptations, parent | step]
        return info

    @property
    def is_ensemble(self) -> bool:
        return bool(self.members)

    @property
    def networks(self) -> list[ModelInfo]:
        """What each network records: the members of an ensemble, or this model itself."""
        return self.members or [self]

    @property
    def test_accuracy(self) -> float | None:
        test = self.metrics.get("test") or {}
        return test.get("accuracy")

    def to_json(self) -> dict:
        common = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION if self.is_ensemble else 1,
            "name": self.name,
            "notes": self.notes,
            "architecture": self.arch,
            "classes": self.classes,
            "created": self.created,
            "app_version": self.app_version,
            "metrics": self.metrics,
        }
        if self.unfamiliar:
            common["unfamiliar"] = self.unfamiliar
        if self.adaptations:
            common["adaptations"] = self.adaptations
        if self.is_ensemble:
            return common | {"members": [member.to_json() for member in self.members]}
        return common | {
            "input": self.policy.to_json(),
            "test_time_augmentation": self.test_time_views,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, data: dict, *, member: bool = False) -> ModelInfo:
        """The metadata, every field checked (model.fileformat.header_check); raises HeaderError naming
        the field at fault."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise HeaderError("the metadata does not describe a BloodCell model")
        version = data.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise HeaderError(f"'format_version' must be a whole number from 1, not {version!r}")
        if version > FORMAT_VERSION:
            raise HeaderError(
                f"format version {version} is newer than this app understands ({FORMAT_VERSION}); update BloodCell"
            )
        classes = class_names(data)
        common: dict[str, Any] = {
            "classes": classes,
            "name": text(data, "name", "BloodCell model", limit=500),
            "notes": text(data, "notes", ""),
            "created": text(data, "created", "", limit=100),
            "app_version": text(data, "app_version", "", limit=100),
            "metrics": checked_metrics(mapping(data, "metrics")),
            "unfamiliar": mapping(data, "unfamiliar"),
            "adaptations": records(data, "adaptations"),
        }
        arch = text(data, "architecture", limit=100)
        if arch == ENSEMBLE:
            if member:
                raise HeaderError("an ensemble's member cannot itself be an ensemble")
            members = cls._members_from_json(data, classes)
            return cls(arch=ENSEMBLE, policy=members[0].policy, members=members, **common)
        if arch not in ARCHITECTURES:
            raise HeaderError(f"unknown architecture {arch!r}; this app knows {', '.join(ARCHITECTURES)}")
        training = mapping(data, "training")
        if "seconds" in training and not isinstance(training["seconds"], (int, float)):
            raise HeaderError("'training.seconds' must be a number")
        for key in ("data", "settings"):
            mapping(training, key)
        try:
            views = check_views(text(data, "test_time_augmentation", NONE, limit=100))
        except ValueError as error:
            raise HeaderError(str(error)) from None
        return cls(
            arch=arch,
            policy=checked_policy(mapping(data, "input")),
            test_time_views=views,
            training=training,
            **common,
        )

    @classmethod
    def _members_from_json(cls, data: dict, classes: list[str]) -> list[ModelInfo]:
        raw = data.get("members")
        if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_MEMBERS:
            raise HeaderError(f"an ensemble needs a list of 2 to {MAX_MEMBERS} member networks")
        members = [cls.from_json(member, member=True) for member in raw]
        if any(member.classes != classes for member in members):
            raise HeaderError("every member of an ensemble must have the ensemble's classes")
        return members


def checked_policy(data: dict) -> InputPolicy:
    """The input policy of a header, each number within its bounds."""
    width = whole_number(data, "width", MIN_INPUT_SIDE, MAX_INPUT_SIDE)
    height = whole_number(data, "height", MIN_INPUT_SIDE, MAX_INPUT_SIDE)
    mean = finite_numbers(data, "mean", 3)
    std = finite_numbers(data, "std", 3, positive=True)
    crop = fraction(data, "crop_fraction", InputPolicy.crop_fraction)
    method = text(data, "method", "fit-and-pad-black", limit=100)
    try:
        return InputPolicy.from_json(
            {"width": width, "height": height, "mean": mean, "std": std, "crop_fraction": crop, "method": method}
        )
    except ValueError as error:
        raise HeaderError(str(error)) from None


def checked_metrics(metrics: dict) -> dict:
    """Recorded figures: each split an object, its headline figures numbers from 0 to 1."""
    for split, values in metrics.items():
        if not isinstance(values, dict):
            raise HeaderError(f"'metrics.{split}' must be an object")
        for key in ("accuracy", "balanced_accuracy", "macro_f1"):
            value = values.get(key)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if value is not None and not (number and 0 <= value <= 1):
                raise HeaderError(f"'metrics.{split}.{key}' must be a number from 0 to 1, not {value!r}")
        if "per_class" in values and not isinstance(values["per_class"], dict):
            raise HeaderError(f"'metrics.{split}.per_class' must be an object")
    return metrics


@dataclass
class LoadedModel:
    """A model file, loaded: its metadata, and what each backend runs. `module` is the torch
    network (for an ensemble a ModuleList, one per member), None where torch is not loaded;
    `graphs` the ONNX graphs, one per network, empty in files saved before they existed."""

    module: Any
    info: ModelInfo
    path: Path
    # The unfamiliar-image reference statistics (model.unfamiliar.statistics); None in files made before
    # them or never calibrated: `bloodcell calibrate` adds them.
    references: ReferenceStatistics | None = None
    graphs: list[bytes] = field(default_factory=list)
    # What each network answered on the probe when saved (model.fileformat.probe); [] in older files.
    probes: list = field(default_factory=list)


def read_info(path: Path | str) -> ModelInfo:
    """The metadata alone, read from the header without touching the weights."""
    path = Path(path)
    header, _ = read_file(path, header_only=True)
    return info_from_header(path, header)


def read_file(path: Path, header_only: bool = False) -> tuple[dict, bytes]:
    """The parsed JSON header and (unless `header_only`) the whole file's bytes."""
    from model.images.reading import describe_os_error, open_regular_file

    try:
        with open_regular_file(path) as stream:
            size = os.fstat(stream.fileno()).st_size
            prefix = stream.read(8)
            (length,) = struct.unpack("<Q", prefix) if len(prefix) == 8 else (0,)
            start = stream.read(1) if 0 < length <= MAX_HEADER_BYTES else b""
            # A safetensors file is an 8-byte header length and a JSON object; a pickle starts
            # with 0x80 and its protocol, a torch.save archive with a zip signature.
            if start != b"{":
                if prefix.startswith(b"PK\x03\x04") or (prefix[:1] == b"\x80" and prefix[1:2] in PICKLE_PROTOCOLS):
                    raise ModelFileError(
                        path,
                        "this is a pickled PyTorch/fastai file (.pth/.pkl); such files can run code "
                        "when loaded, so BloodCell refuses them. Export the model as a BloodCell "
                        ".safetensors file instead",
                    )
                if len(prefix) < 8:
                    raise ModelFileError(path, "the file is empty or truncated")
                raise ModelFileError(path, "not a BloodCell model file (unrecognised format)")
            if length + 8 > size or size > MAX_FILE_BYTES:
                raise ModelFileError(path, "not a BloodCell model file (truncated, or larger than any model)")
            raw_header = start + stream.read(length - 1)
            body = b"" if header_only else stream.read()
    except ModelFileError:
        raise
    except OSError as error:
        reason = describe_os_error(error).replace("an image file", "a model file")
        raise ModelFileError(path, reason) from None
    try:
        header = json.loads(raw_header)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(path, "not a BloodCell model file (the header is not readable)") from None
    except RecursionError:
        raise ModelFileError(path, "not a BloodCell model file (the header is nested too deeply)") from None
    if not isinstance(header, dict):
        raise ModelFileError(path, "not a BloodCell model file (unexpected header)")
    return header, prefix + raw_header + body


def info_from_header(path: Path, header: dict) -> ModelInfo:
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not isinstance(metadata.get(METADATA_KEY), str):
        raise ModelFileError(path, "a safetensors file, but not a BloodCell model (no BloodCell metadata)")
    try:
        return ModelInfo.from_json(json.loads(metadata[METADATA_KEY]))
    except RecursionError:
        raise ModelFileError(path, "the model metadata is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(path, f"the model metadata is not valid JSON ({error.msg})") from None
    except HeaderError as error:
        raise ModelFileError(path, f"the model metadata is invalid: {error}") from None
