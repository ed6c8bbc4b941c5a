"""Fixtures for every tier, without Qt: real images from ../shared, a corpus of bad files, model
files; and the tiers: `pytest` runs the quick tier, `pytest --full` everything (CI).

Tiers: a test marked `slow` (seconds or more: training, subprocesses, whole folders) runs only
with --full; one marked `data` needs ../shared's development data (every such test is also told
apart by what it uses: `real_data()`, `pbc_data()`, `pbc_cells()`, the real-image fixtures, the
default model's figures; the marker is set here, from the test's source and fixtures, so
`pytest -m "not data"` runs what a checkout without ../shared can)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import CLASSES, real_data, seed_model_file
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


@pytest.fixture
def make_model_file(tmp_path):
    """A factory of untrained real model files: make_model_file(name, arch=..., size=..., ...)."""

    def make(name: str = "model.safetensors", **options) -> Path:
        return seed_model_file(tmp_path / name, **options)

    return make


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="run every tier, the slow tests too (as CI does)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes seconds or more; runs with --full")
    config.addinivalue_line("markers", "data: needs ../shared's development data")


DATA_FIXTURES = {"real_train_subset", "real_test_subset", "bad_corpus"}
DATA_HELPERS = ("real_data(", "pbc_data(", "pbc_cells(", "BLOOD_CELLS", "PBC", "dev_data")


def _needs_data(item: pytest.Item) -> bool:
    import inspect

    if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    function = getattr(item, "function", None)
    try:
        source = inspect.getsource(inspect.getmodule(function)) if function else ""
    except (OSError, TypeError):
        return False
    return any(helper in source for helper in DATA_HELPERS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _needs_data(item):
            item.add_marker(pytest.mark.data)
    if config.getoption("--full"):
        return
    quick = [item for item in items if item.get_closest_marker("slow") is None]
    config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("slow")])
    items[:] = quick
