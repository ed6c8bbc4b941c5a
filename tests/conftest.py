"""Shared fixtures: real images from ../shared, small synthetic sets, a corpus of bad files."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

# Qt's offscreen screen is 800x800 unless told otherwise; windows now size themselves to their
# screen, so the tests give them an ordinary desktop's (the small-screen tests set their own).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={Path(__file__).with_name('offscreen-1920x1080.json')}"

import numpy as np
import pytest
from helpers import CLASSES, real_data  # noqa: E402
from PIL import Image


def link_subset(source: Path, target: Path, per_class: int, offset: int = 0) -> Path:
    """A class-per-folder tree of symbolic links to `per_class` real images of each class."""
    for name in CLASSES:
        (target / name).mkdir(parents=True, exist_ok=True)
        for file in sorted((source / name).iterdir())[offset : offset + per_class]:
            (target / name / file.name).symlink_to(file)
    return target


@pytest.fixture(scope="session")
def real_train_subset(tmp_path_factory) -> Path:
    return link_subset(real_data() / "TRAIN", tmp_path_factory.mktemp("train"), per_class=24)


@pytest.fixture(scope="session")
def real_test_subset(tmp_path_factory) -> Path:
    return link_subset(real_data() / "TEST", tmp_path_factory.mktemp("test"), per_class=8)


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


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size but which carries no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
def bad_corpus(tmp_path) -> dict[str, tuple[Path, bool]]:
    """Files a technician may drop: name -> (path, whether it should be classified)."""
    real = sorted((real_data() / "TEST" / "EOSINOPHIL").iterdir())[0]
    jpeg = real.read_bytes()
    rgb = Image.open(real).convert("RGB")
    root = tmp_path / "mixed"
    root.mkdir()
    corpus: dict[str, tuple[Path, bool]] = {}

    def add(name: str, ok: bool, data: bytes | None = None, image: Image.Image | None = None, **save):
        path = root / name
        if data is not None:
            path.write_bytes(data)
        else:
            image.save(path, **save)
        corpus[name] = (path, ok)

    add("good.jpeg", True, data=jpeg)
    add("truncated.jpg", False, data=jpeg[: len(jpeg) // 2])
    add("empty.jpg", False, data=b"")
    add("notes.jpg", False, data=b"This is a text file, not a picture.\n")
    add("tiny.png", False, image=Image.new("RGB", (1, 1), "purple"))
    add("huge.png", False, data=png_claiming(50000, 50000))
    add("rgba.png", True, image=rgb.convert("RGBA"))
    gray16 = Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257).astype(np.uint16))
    add("gray16.png", True, image=gray16)
    add("gray16.tif", True, image=gray16)
    add("cmyk.jpg", True, image=rgb.convert("CMYK"))
    add("zellkern-éosinophile-好.jpeg", True, data=jpeg)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: stored landscape, shown portrait
    add("exif-rotated.jpg", True, image=rgb, exif=exif.tobytes())
    locked = root / "locked.jpg"
    locked.write_bytes(jpeg)
    locked.chmod(0)
    corpus["locked.jpg"] = (locked, os.geteuid() == 0)  # root reads anything
    dangling = root / "vanished.jpg"
    dangling.symlink_to(root / "no-such-file.jpg")
    corpus["vanished.jpg"] = (dangling, False)
    return corpus


@pytest.fixture(scope="module")
def seed_model_file(tmp_path_factory) -> Path:
    """An untrained seed network for the four classes, at 48x48: real files, fast inference."""
    import torch

    from model.arch import build_model
    from model.modelfile import ModelInfo, save
    from model.preprocess import InputPolicy

    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("seed-model") / "seed.safetensors"
    save(path, build_model("seed", 4), ModelInfo(arch="seed", classes=CLASSES, policy=InputPolicy(48, 48)))
    return path
