"""Fixtures of the engine's tests (no Qt here: tests/engine collects and passes without PySide6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import seed_model_file as write_seed_model
from PIL import Image

SYNTHETIC_CLASSES = ["BLOB", "RING"]


def synthetic_image(kind: str, rng: np.random.Generator, size=(96, 72)) -> Image.Image:
    """A pink field with a purple filled disc (BLOB) or an open ring (RING) somewhere in it."""
    width, height = size
    pixels = np.empty((height, width, 3), np.float32)
    pixels[:] = (230, 190, 200)
    pixels += rng.normal(0, 8, pixels.shape)
    cy, cx = rng.uniform(0.35, 0.65) * height, rng.uniform(0.35, 0.65) * width
    radius = rng.uniform(0.18, 0.28) * height
    yy, xx = np.mgrid[:height, :width]
    distance = np.hypot(yy - cy, xx - cx)
    mask = distance < radius if kind == "BLOB" else (distance < radius) & (distance > radius * 0.6)
    pixels[mask] = (110, 60, 160)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.fixture(scope="session")
def synthetic_set(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    rng = np.random.default_rng(0)
    for kind in SYNTHETIC_CLASSES:
        (root / kind).mkdir()
        for i in range(40):
            synthetic_image(kind, rng).save(root / kind / f"{kind.lower()}_{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def seed_model_file(tmp_path_factory) -> Path:
    """An untrained seed network for the four classes, at 48x48: real files, fast inference."""
    import torch

    torch.manual_seed(3)
    return write_seed_model(tmp_path_factory.mktemp("seed-model") / "seed.safetensors")
