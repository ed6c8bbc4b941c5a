"""Probe: can a picture's red cells tell its magnification? (exploratory; changes nothing)

Red cells are about 7.5 µm across in any lab, so their size in pixels would say how far to zoom a
picture before framing it. This measures one estimate of it, by granulometry, on both labs:

1. Red cells and background are told apart by the green channel (eosin absorbs green), with
   Otsu's threshold over the pixels that are neither violet (nuclei) nor bluish (cytoplasm);
   mask parts touching a nucleus are dropped (the leukocyte's own cytoplasm) and holes filled
   (the pale centre of a red cell).
2. The mask is opened by discs of growing radius; the radius at which half its area is gone is
   the typical red cell's. Fewer than three cores of that size: no estimate.

Reported: how often there is no estimate; the estimate's spread within each lab, as the number
of red cells across the cell-centred window (60 % of the shorter side); and, for `pbc/`'s
held-out pictures rescaled as `probe_magnification.py` does, the estimate's ratio to the
unscaled picture's, which should equal the factor.

    python -m research.probe_red_cell_size [--images 200]
"""

from __future__ import annotations

import argparse
import random

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu

from model.training.holdout import is_held_out
from research.probe_magnification import magnified
from tools.dev_data import BLOOD_CELLS, PBC

WORK_SIDE = 90  # the estimate runs on a copy whose shorter side has this many pixels
MIN_CORES = 3
FACTORS = (0.5, 0.67, 0.8, 1.25, 1.5, 2.0)


def red_cell_mask(image: Image.Image) -> tuple[np.ndarray | None, float]:
    factor = min(image.size) / WORK_SIDE
    size = (max(1, round(image.width / factor)), max(1, round(image.height / factor)))
    pixels = np.asarray(image.convert("RGB").resize(size, Image.Resampling.BOX), dtype=np.float32)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    inside = pixels.max(axis=2) > 40  # not the black corners of a turned copy
    pink_or_background = inside & (blue - green < 25) & (red > blue)
    if pink_or_background.sum() < 100:
        return None, factor
    mask = pink_or_background & (green < threshold_otsu(green[pink_or_background]))
    labels, count = ndimage.label(mask)
    if count:
        violet = inside & (blue - green > 40)
        touching = np.unique(labels[ndimage.binary_dilation(violet, iterations=2) & mask])
        mask &= ~np.isin(labels, touching[touching > 0])
    return ndimage.binary_fill_holes(mask), factor


def red_cell_diameter(image: Image.Image) -> float | None:
    """The typical red cell's diameter in the picture's pixels, or None."""
    mask, factor = red_cell_mask(image)
    if mask is None or mask.sum() < 50:
        return None
    depth = ndimage.distance_transform_edt(mask)
    area = mask.sum()
    for radius in np.arange(1.0, min(mask.shape) / 2, 0.5):
        core = depth >= radius
        opened = ndimage.distance_transform_edt(~core) <= radius if core.any() else core
        if (opened & mask).sum() < area / 2:
            cores = ndimage.label(depth >= radius - 0.5)[1]
            return 2 * radius * factor if cores >= MIN_CORES else None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200, help="pictures drawn from each lab")
    args = parser.parse_args()
    draw = random.Random(1)
    for lab, paths in (
        ("blood-cells TRAIN", sorted(BLOOD_CELLS.glob("TRAIN/*/*.jpeg"))),
        ("pbc held-out", [p for p in sorted(PBC.glob("*/*.jpeg")) if is_held_out(p)]),
    ):
        chosen = draw.sample(paths, min(args.images, len(paths)))
        images = [Image.open(path).convert("RGB") for path in chosen]
        diameters = [red_cell_diameter(image) for image in images]
        across = [0.6 * min(im.size) / d for im, d in zip(images, diameters, strict=True) if d]
        print(f"{lab}: no estimate {sum(d is None for d in diameters)} of {len(images)}")
        spread = np.round(np.percentile(across, [5, 25, 50, 75, 95]), 2)
        print("  red cells across the window, percentiles 5/25/50/75/95:", spread)
        if lab.startswith("pbc"):
            for factor in FACTORS:
                ratios = [
                    scaled / base
                    for image, base in zip(images, diameters, strict=True)
                    if base and (scaled := red_cell_diameter(magnified(image, factor)))
                ]
                within = np.mean([abs(r / factor - 1) <= 0.15 for r in ratios]) if ratios else 0.0
                print(
                    f"  x{factor}: estimated {len(ratios)} of {sum(1 for d in diameters if d)}, ratio median "
                    f"{np.median(ratios):.2f}, within 15 % of the factor: {within:.0%}"
                )


if __name__ == "__main__":
    main()
