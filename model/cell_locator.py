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
# Below this mean stain excess in the best window there is no stained cell to centre on.
MIN_DENSITY = 1.0


def locate_stained_cell(image: Image.Image) -> tuple[int, int] | None:
    """The centre (x, y) of the most densely violet-stained area, or None when there is none."""
    factor = max(1, round(min(image.size) / SEARCH_SIDE))
    small = image.reduce(factor) if factor > 1 else image
    pixels = np.asarray(small, dtype=np.int16)
    excess = np.clip(pixels[..., 2] - pixels[..., 1] - STAIN_MARGIN, 0, 255).astype(np.uint8)
    density = np.asarray(Image.fromarray(excess).filter(ImageFilter.BoxBlur(WINDOW_RADIUS)), dtype=np.float32)
    if density.max() < MIN_DENSITY:
        return None
    y, x = np.unravel_index(int(np.argmax(density)), density.shape)
    return int(x * factor + factor // 2), int(y * factor + factor // 2)
