"""Model files: one `.safetensors` file holding the weights and a JSON metadata document.

Loading reads and checks the header first, builds the architecture in code, then copies the
tensors in: nothing in a file is ever executed, so pickles (fastai `.pkl`, torch `.pth`) are
refused outright.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as serialize_tensors

from model import __version__
from model.atomic import atomic_write_bytes
from model.preprocess import InputPolicy
from model.symmetry import NONE, check_views

FORMAT = "bloodcell-model"
FORMAT_VERSION = 2  # 2: ensembles (`members`); a single network is still written as version 1
ENSEMBLE = "ensemble"
METADATA_KEY = "bloodcell"
MAX_HEADER_BYTES = 16 * 2**20
MAX_FILE_BYTES = 2 * 2**30


class ModelFileError(Exception):
    """A file that is not a usable BloodCell model, with the reason in plain words."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass
class ModelInfo:
    """Everything a model file says about itself besides the weights."""

    arch: str
    classes: list[str]
    policy: InputPolicy
    # Which symmetric views of each image classification averages (model.symmetry); files
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
        if self.is_ensemble:
            return common | {"members": [member.to_json() for member in self.members]}
        return common | {
            "input": self.policy.to_json(),
            "test_time_augmentation": self.test_time_views,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, data: dict) -> ModelInfo:
        if data.get("format") != FORMAT:
            raise ValueError("the metadata does not describe a BloodCell model")
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"format version {version!r} is newer than this app understands ({FORMAT_VERSION}); update BloodCell"
            )
        classes = data["classes"]
        if not (isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes)):
            raise ValueError("the class list is missing or has fewer than two names")
        common = {
            "classes": list(classes),
            "name": str(data.get("name", "BloodCell model")),
            "notes": str(data.get("notes", "")),
            "created": str(data.get("created", "")),
            "app_version": str(data.get("app_version", "")),
            "metrics": dict(data.get("metrics") or {}),
        }
        if data["architecture"] == ENSEMBLE:
            members = cls._members_from_json(data, classes)
            return cls(arch=ENSEMBLE, policy=members[0].policy, members=members, **common)
        return cls(
            arch=str(data["architecture"]),
            policy=InputPolicy.from_json(data["input"]),
            test_time_views=check_views(str(data.get("test_time_augmentation", NONE))),
            training=dict(data.get("training") or {}),
            **common,
        )

    @classmethod
    def _members_from_json(cls, data: dict, classes: list[str]) -> list[ModelInfo]:
        members = [cls.from_json(member) for member in data.get("members") or []]
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two member networks")
        if any(member.is_ensemble or member.classes != classes for member in members):
            raise ValueError("every member of an ensemble must be a single network with the ensemble's classes")
        return members


@dataclass
class LoadedModel:
    """A network and its metadata; for an ensemble `module` is a ModuleList, one per member."""

    module: torch.nn.Module
    info: ModelInfo
    path: Path


def save(path: Path | str, module: torch.nn.Module, info: ModelInfo, *, half: bool = True) -> Path:
    """Write weights and metadata to `path` atomically; floating tensors stored as float16."""
    tensors = {
        name: (t.detach().cpu().half() if half and t.is_floating_point() else t.detach().cpu()).contiguous()
        for name, t in module.state_dict().items()
    }
    payload = serialize_tensors(tensors, metadata={METADATA_KEY: json.dumps(info.to_json())})
    path = Path(path)
    atomic_write_bytes(path, payload)
    return path


def read_info(path: Path | str) -> ModelInfo:
    """The metadata alone, read from the header without touching the weights."""
    path = Path(path)
    header = _read_header(path)
    return _info_from_header(path, header)


def load(path: Path | str) -> LoadedModel:
    """Rebuild the network named in the file and load its weights, in float32, on the CPU."""
    from model.arch import ArchitectureError, build_model

    path = Path(path)
    header = _read_header(path)
    info = _info_from_header(path, header)
    try:
        networks = [build_model(network.arch, len(info.classes)) for network in info.networks]
        module = torch.nn.ModuleList(networks) if info.is_ensemble else networks[0]
    except ArchitectureError as error:
        raise ModelFileError(path, str(error)) from None
    try:
        tensors = load_tensors(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFileError(path, f"the weights cannot be read ({error})") from None
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
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    return LoadedModel(module=module.eval(), info=info, path=path)


def _read_header(path: Path) -> dict:
    try:
        size = path.stat().st_size
        with open(path, "rb") as stream:
            prefix = stream.read(8)
            if prefix.startswith(b"PK\x03\x04") or prefix[:1] == b"\x80":
                raise ModelFileError(
                    path,
                    "this is a pickled PyTorch/fastai file (.pth/.pkl); such files can run code "
                    "when loaded, so BloodCell refuses them. Export the model as a BloodCell "
                    ".safetensors file instead",
                )
            if len(prefix) < 8:
                raise ModelFileError(path, "the file is empty or truncated")
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES or length + 8 > size or size > MAX_FILE_BYTES:
                raise ModelFileError(path, "not a BloodCell model file (unrecognised or truncated)")
            raw = stream.read(length)
    except ModelFileError:
        raise
    except IsADirectoryError:
        raise ModelFileError(path, "this is a folder, not a model file") from None
    except FileNotFoundError:
        raise ModelFileError(path, "the file does not exist") from None
    except PermissionError:
        raise ModelFileError(path, "permission denied: the file cannot be read") from None
    except OSError as error:
        raise ModelFileError(path, f"the file cannot be read ({error.strerror or error})") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(path, "not a BloodCell model file (the header is not readable)") from None
    if not isinstance(header, dict):
        raise ModelFileError(path, "not a BloodCell model file (unexpected header)")
    return header


def _info_from_header(path: Path, header: dict) -> ModelInfo:
    metadata = header.get("__metadata__") or {}
    if METADATA_KEY not in metadata:
        raise ModelFileError(path, "a safetensors file, but not a BloodCell model (no BloodCell metadata)")
    try:
        return ModelInfo.from_json(json.loads(metadata[METADATA_KEY]))
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(path, f"the model metadata is invalid ({error})") from None
