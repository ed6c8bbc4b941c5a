"""Augmented training batches as pictures: what the network will actually see."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from model.images.preprocess import InputPolicy
from model.images.scan import DatasetScan
from model.training.data import build_dataloaders
from model.training.settings import Augmentation


@dataclass(frozen=True)
class PreviewTile:
    pixels: np.ndarray  # HWC uint8, denormalised
    label: str


def augmented_batch(
    scan: DatasetScan, policy: InputPolicy, augmentation: Augmentation, *, count: int = 16, seed: int = 0
) -> list[PreviewTile]:
    """`count` random training images through the same fastai pipeline as training, on the CPU."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    dls = build_dataloaders(
        scan,
        policy=policy,
        augmentation=augmentation,
        batch_size=count,
        valid_pct=0.0,
        seed=seed,
        device="cpu",
        require_validation=False,
    )
    images, labels = dls.train.one_batch()
    mean = torch.tensor(policy.mean).view(1, 3, 1, 1)
    std = torch.tensor(policy.std).view(1, 3, 1, 1)
    pixels = ((images.cpu().float() * std + mean).clamp(0, 1) * 255).round().byte()
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    return [PreviewTile(np.ascontiguousarray(p), dls.vocab[int(y)]) for p, y in zip(pixels, labels, strict=True)]
