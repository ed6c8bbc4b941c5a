"""Pictures that are not white blood cells, for the unfamiliar-image tests and benchmark:
photographs and scans shipped inside scikit-image, generated noise and textures, text, blank
slide backgrounds and fields of red cells only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# Images inside the scikit-image wheel (never downloaded).
SKIMAGE_PICTURES = (
    "astronaut",
    "camera",
    "cat",
    "chelsea",
    "coffee",
    "coins",
    "horse",
    "hubble_deep_field",
    "moon",
    "page",
    "rocket",
    "text",
    "clock",
    "grass",
    "gravel",
    "brick",
    "colorwheel",
    "retina",
    "immunohistochemistry",
    "logo",
)


def _skimage_pictures() -> list[tuple[str, Image.Image]]:
    from skimage import data

    pictures = []
    for name in SKIMAGE_PICTURES:
        loader = getattr(data, name, None)
        if loader is None:
            continue
        try:
            array = np.asarray(loader())
        except Exception:  # noqa: BLE001 - a picture that needs a download is not shipped: skip it
            continue
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        pictures.append((name, Image.fromarray(array[..., :3].astype(np.uint8))))
    return pictures


def _red_cells(rng: np.random.Generator, size=(320, 240), background=(232, 214, 220)) -> Image.Image:
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(8, 20)):
        x, y, r = rng.integers(0, size[0]), rng.integers(0, size[1]), rng.integers(14, 24)
        tone = tuple(int(c) for c in rng.integers([200, 110, 120], [235, 150, 160]))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tone, outline=(180, 100, 120))
    return image


def write_proxies(folder: Path, *, seed: int = 0, crops_per_picture: int = 4) -> list[Path]:
    """Write the non-leukocyte pictures into `folder`; their paths."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, Image.Image]] = []
    for name, picture in _skimage_pictures():
        images.append((name, picture))
        width, height = picture.size
        for index in range(crops_per_picture):  # cell-sized crops, as a camera would frame them
            side = int(min(width, height) * rng.uniform(0.3, 0.7))
            left, top = rng.integers(0, width - side + 1), rng.integers(0, height - side + 1)
            images.append((f"{name}-crop{index}", picture.crop((left, top, left + side, top + side))))
    for index in range(20):
        images.append((f"noise{index}", Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))))
        smooth = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        images.append((f"blur{index}", Image.fromarray(smooth).resize((320, 240), Image.Resampling.BICUBIC)))
        tone = tuple(int(c) for c in rng.integers(150, 256, 3))
        images.append((f"blank{index}", Image.new("RGB", (320, 240), tone)))
        images.append((f"redcells{index}", _red_cells(rng)))
        text = Image.new("RGB", (320, 240), "white")
        ImageDraw.Draw(text).multiline_text((10, 10), f"Sample {index}\nPatient 12{index}\nWBC count", fill="black")
        images.append((f"text{index}", text))
    paths = []
    for name, image in images:
        path = folder / f"{name}.png"
        image.convert("RGB").save(path)
        paths.append(path)
    return paths
