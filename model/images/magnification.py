"""A lab's magnification, from a batch of its own pictures, with no labels.

Another lab's microscope and camera show the leukocyte larger or smaller in the frame; the
network has learnt cells at one size. The nucleus's stain gives each picture's scale: the
square root of the stained area connected to the located cell, over the picture's shorter side.
One picture's says little (a lymphocyte's nucleus is smaller than a monocyte's), but the median
over a batch (a session, a folder) is the lab's. Measured on the development data's held-out
pictures rescaled as another magnification would show them: x0.67, x1.5 and x2.0 came back as
0.66, 1.49 and 1.98 on pbc.

The model's framing takes a window `crop_fraction` of the shorter side around the cell; a
batch at magnification m gets a window m times as large, so the cell fills the network's input as
in training.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from model.common.cores import worker_threads
from model.images.cell_locator import STAIN_MARGIN, locate_stained_cell
from model.images.preprocess import STAINED_CELL, InputPolicy

# The stain scale of the labs the shipped networks were trained on (median over held-out
# pictures: pbc 0.267, blood-cells TEST 0.237), which their framing brings to about one size.
REFERENCE_STAIN_SCALE = 0.25
# A batch needs this many measured pictures for its median to mean anything.
MIN_PICTURES = 5
# The stain is measured on a copy about this many pixels on its shorter side: at the cell
# locator's 60 a small nucleus is a few pixels, and its edge is most of it.
MEASURE_SIDE = 150
# Beyond these, the estimate is more likely wrong than the lab.
LIMITS = (0.3, 3.0)


def stain_scale(image: Image.Image) -> float | None:
    """sqrt(stained area of the located cell) / shorter side, or None without a stained cell."""
    centre = locate_stained_cell(image)
    if centre is None:
        return None
    factor = max(1, round(min(image.size) / MEASURE_SIDE))
    small = image.reduce(factor) if factor > 1 else image
    pixels = np.asarray(small, dtype=np.int16)
    stained = (pixels[..., 2] - pixels[..., 1] - STAIN_MARGIN) > 0
    joined = _grow(stained)  # a neutrophil's lobes, a few pixels apart, are one cell
    y = min(max(centre[1] // factor, 0), stained.shape[0] - 1)
    x = min(max(centre[0] // factor, 0), stained.shape[1] - 1)
    if not joined[y, x]:
        ys, xs = np.nonzero(joined)
        if not len(ys):
            return None
        nearest = int(np.argmin((ys - y) ** 2 + (xs - x) ** 2))
        y, x = int(ys[nearest]), int(xs[nearest])
    cell = np.zeros_like(joined)
    cell[y, x] = True
    for _ in range(max(stained.shape)):
        grown = _grow(cell) & joined
        if (grown == cell).all():
            break
        cell = grown
    return float(np.sqrt((cell & stained).sum()) / min(small.size))


def _grow(mask: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(3))) > 0


@dataclass(frozen=True)
class Magnification:
    """A batch's magnification relative to the model's training pictures."""

    factor: float
    pictures: int  # measured

    def describe(self) -> str:
        how = f"estimated from {self.pictures} pictures" if self.pictures else "set by hand"
        return f"framed at magnification x{self.factor:.2f} relative to training ({how})"

    def to_json(self) -> dict:
        return {"factor": self.factor, "pictures": self.pictures}

    @classmethod
    def from_json(cls, data: object) -> Magnification | None:
        if data is None:
            return None
        factor, pictures = (data.get("factor"), data.get("pictures", 0)) if isinstance(data, dict) else (None, None)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not LIMITS[0] <= factor <= LIMITS[1]:
            raise ValueError(f"'magnification.factor' must be a number from {LIMITS[0]:g} to {LIMITS[1]:g}")
        if isinstance(pictures, bool) or not isinstance(pictures, int) or pictures < 0:
            raise ValueError("'magnification.pictures' must be a whole number")
        return cls(float(factor), pictures)


def batch_magnification(scales: list[float | None]) -> Magnification | None:
    """The batch's magnification from its pictures' stain scales; None with too few."""
    measured = [scale for scale in scales if scale]
    if len(measured) < MIN_PICTURES:
        return None
    factor = float(np.clip(np.median(measured) / REFERENCE_STAIN_SCALE, *LIMITS))
    return Magnification(factor, len(measured))


def policy_at(policy: InputPolicy, magnification: Magnification | None) -> InputPolicy:
    """The policy with its window scaled to the batch's magnification (a cell-framed one only)."""
    if magnification is None or policy.framing != STAINED_CELL:
        return policy
    return replace(policy, crop_fraction=policy.crop_fraction * magnification.factor)


# How many of a batch's pictures are measured: enough for a steady median, few enough to cost
# about a second.
MAX_PICTURES = 200
AUTO = "auto"


def estimate_magnification(paths: list[Path], threads: int | None = None) -> Magnification | None:
    """The magnification of a batch of pictures (up to MAX_PICTURES of them, spread over it);
    None when too few have a stained cell to measure. Unreadable files are passed over (the
    classification says why)."""
    from concurrent.futures import ThreadPoolExecutor

    from model.images.reading import ImageError, load_rgb

    step = max(1, len(paths) // MAX_PICTURES)
    chosen = list(paths)[::step][:MAX_PICTURES]

    def measured(path: Path) -> float | None:
        try:
            return stain_scale(load_rgb(path))
        except (ImageError, OSError, ValueError):
            return None

    with ThreadPoolExecutor(max_workers=threads or worker_threads(), thread_name_prefix="magnification") as pool:
        return batch_magnification(list(pool.map(measured, chosen)))


def fixed_magnification(factor: float) -> Magnification:
    """A magnification set by hand for a lab (no pictures measured)."""
    if not LIMITS[0] <= factor <= LIMITS[1]:
        raise ValueError(f"a magnification of {factor:g} is outside {LIMITS[0]:g} to {LIMITS[1]:g}")
    return Magnification(float(factor), 0)


def batch_framing(magnification: Magnification | str | None, files: list[Path]) -> Magnification | None:
    """The magnification to frame a batch at: AUTO measures the batch's own pictures (None when
    too few can be measured: framed as in training); a Magnification as given; None as in training."""
    if magnification == AUTO:
        return estimate_magnification(files) if files else None
    if magnification is not None and not isinstance(magnification, Magnification):
        raise ValueError(f"magnification must be {AUTO!r}, a Magnification or None, not {magnification!r}")
    return magnification
