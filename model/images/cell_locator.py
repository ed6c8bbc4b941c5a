"""Finding the white blood cell in a smear photograph by its stain.

Wright-Giemsa stains a leukocyte's nucleus violet: blue well above green. Red cells, plasma and
background are pink to grey, with blue at or below green. The densest violet area, measured over
a window about a nucleus wide, is the cell; platelets are violet too but much smaller.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

# Blue must exceed green by this much for a pixel to count as stained; pink cells and
# grey background stay below it, pale neutrophil cytoplasm only just reaches it.
STAIN_MARGIN = 40
# The search runs on a copy whose shorter side is about this many pixels (60 for the
# 320x240 training images), so the window below covers a nucleus at any photo size.
SEARCH_SIDE = 60
WINDOW_RADIUS = 6
# The centre of mass is taken within this radius, on the reduced copy: about a nucleus.
CENTRE_RADIUS = 10
MEAN_SHIFT_STEPS = 4
# Below this mean stain excess in the best window there is no stained cell to centre on.
MIN_DENSITY = 1.0
# In a photograph most of the variation is structure, which a small blur keeps: on the search copy
# the blurred picture keeps 0.70-0.95 of the spread (both labs, any size from 40 pixels up; a
# noisy synthetic smear 0.81). In noise the blur removes most of it (0.20-0.24, JPEG'd or not).
MIN_STRUCTURE_SHARE = 0.4


def locate_stained_cell(image: Image.Image) -> tuple[int, int] | None:
    """The centre (x, y) of the most densely violet-stained area, or None when there is none."""
    factor = max(1, round(min(image.size) / SEARCH_SIDE))
    small = image.reduce(factor) if factor > 1 else image
    if looks_like_noise(small):
        return None  # noise is violet in places too, but it is no cell
    pixels = np.asarray(small, dtype=np.int16)
    excess = np.clip(pixels[..., 2] - pixels[..., 1] - STAIN_MARGIN, 0, 255).astype(np.uint8)
    density = np.asarray(Image.fromarray(excess).filter(ImageFilter.BoxBlur(WINDOW_RADIUS)), dtype=np.float32)
    if density.max() < MIN_DENSITY:
        return None
    peak_y, peak_x = np.unravel_index(int(np.argmax(density)), density.shape)
    x, y = _centre_of_stain(excess, float(peak_x), float(peak_y))
    return int(round(x * factor + factor / 2)), int(round(y * factor + factor / 2))


def looks_like_noise(image: Image.Image) -> bool:
    """Whether the picture is noise rather than a photograph: a blur of two pixels removes most of
    its spread (`image` is the search copy, about SEARCH_SIDE pixels on its shorter side)."""
    grey = image.convert("L")
    spread = float(np.asarray(grey, dtype=np.float32).std())
    if spread < 1.0:
        return False  # a plain picture: no stain, said as such below
    blurred = float(np.asarray(grey.filter(ImageFilter.BoxBlur(2)), dtype=np.float32).std())
    return blurred < MIN_STRUCTURE_SHARE * spread


def _centre_of_stain(excess: np.ndarray, x: float, y: float) -> tuple[float, float]:
    """Move from the densest window to the stain's centre of mass around it (a few mean-shift
    steps over a round window), which turns and flips with the cell, unlike a square window."""
    grid = np.indices(excess.shape, dtype=np.float32)
    rows, columns = grid[0], grid[1]
    weights = excess.astype(np.float32)
    for _ in range(MEAN_SHIFT_STEPS):
        near = (columns - x) ** 2 + (rows - y) ** 2 <= CENTRE_RADIUS**2
        mass = float(weights[near].sum())
        if mass == 0:
            break
        x = float((weights[near] * columns[near]).sum()) / mass
        y = float((weights[near] * rows[near]).sum()) / mass
    return x, y
