"""Finding images that are copies of one another: the same cell rotated, flipped or shifted,
as in augmented data sets, where a random split puts one cell on both sides. Used to warn
about such validation sets, and to split by cell instead.

Each image gets a signature that such copies share: the stain and red-channel intensities
sampled on rings around the stained cell, reduced to the magnitudes of their angular Fourier
harmonics. Centring on the cell removes shifts; a rotation only shifts each ring's phase and a
flip reverses it, and neither changes the magnitudes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import map_coordinates
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from model.images.cell_locator import locate_stained_cell
from model.images.reading import ImageError, load_rgb

# Rings out to this share of the shorter side: a leukocyte and a rim of its neighbours
# (56 pixels in the 320x240 training images).
OUTER_RADIUS = 0.23
RINGS = 14
SAMPLES_PER_RING = 64
HARMONICS = 8
BLACK = 0.08
# Signature distance below which two images count as copies of one cell. Measured on the
# blood-cells set: 97% of a random 20% validation split of TRAIN have a copy this near in
# the other 80%; 0.5% of TEST images (cells TRAIN does not contain) have a TRAIN image so near.
COPY_DISTANCE = 0.12

_RADII = np.linspace(1 / 120, OUTER_RADIUS, RINGS)
_ANGLES = np.linspace(0, 2 * np.pi, SAMPLES_PER_RING, endpoint=False)


def cell_signature(image: Image.Image) -> np.ndarray:
    """A vector that rotated, flipped and shifted copies of one photo share (float32)."""
    width, height = image.size
    x, y = locate_stained_cell(image) or (width // 2, height // 2)
    radii = _RADII[:, None] * min(width, height)
    rows = y + radii * np.sin(_ANGLES)[None, :]
    columns = x + radii * np.cos(_ANGLES)[None, :]
    pixels = np.asarray(image, dtype=np.float32) / 255
    # Black rotation corners and the world beyond the frame both read as the typical colour of
    # the photo, so a copy that rotates a cell near the edge looks like its original there.
    typical = np.median(pixels.reshape(-1, 3), axis=0)
    pixels[pixels.max(axis=-1) < BLACK] = typical
    channels = ((pixels[..., 0], typical[0]), (pixels[..., 2] - pixels[..., 1], typical[2] - typical[1]))
    parts = []
    for channel, outside in channels:
        rings = map_coordinates(channel, [rows, columns], order=1, mode="constant", cval=outside)
        parts.append(np.abs(np.fft.rfft(rings, axis=1))[:, :HARMONICS].ravel() / SAMPLES_PER_RING)
    return np.concatenate(parts).astype(np.float32)


def signatures(
    paths: Sequence[Path],
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> np.ndarray:
    """One signature per path; an unreadable file gets NaNs, which match nothing."""
    result = np.full((len(paths), 2 * RINGS * HARMONICS), np.nan, dtype=np.float32)
    for index, path in enumerate(paths):
        if should_stop():
            raise InterruptedError("stopped")
        with contextlib.suppress(ImageError):
            result[index] = cell_signature(load_rgb(path))
        if on_progress is not None and (index % 50 == 0 or index == len(paths) - 1):
            on_progress(index + 1, len(paths))
    return result


def nearest_distances(queries: np.ndarray, references: np.ndarray, chunk: int = 512) -> np.ndarray:
    """For each query signature, the distance to the nearest reference signature."""
    references = references[~np.isnan(references).any(axis=1)]
    nearest = np.full(len(queries), np.inf, dtype=np.float32)
    if len(references) == 0:
        return nearest
    reference_norms = (references**2).sum(axis=1)
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk]
        squared = (block**2).sum(axis=1)[:, None] + reference_norms[None, :] - 2 * block @ references.T
        nearest[start : start + chunk] = np.sqrt(np.maximum(np.nanmin(squared, axis=1), 0))
    return np.nan_to_num(nearest, nan=np.inf)


@dataclass(frozen=True)
class CopyCheck:
    """How many validation images have a copy of the same cell among the training images."""

    copies: int
    checked: int

    @property
    def share(self) -> float:
        return self.copies / self.checked if self.checked else 0.0


def check_for_copies(
    valid: Sequence[Path],
    train: Sequence[Path],
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> CopyCheck:
    """Compare every validation image with every training image by signature."""
    total = len(valid) + len(train)

    def progress(offset: int) -> Callable[[int, int], None] | None:
        return None if on_progress is None else lambda done, _: on_progress(offset + done, total)

    valid_signatures = signatures(valid, progress(0), should_stop)
    train_signatures = signatures(train, progress(len(valid)), should_stop)
    readable = ~np.isnan(valid_signatures).any(axis=1)
    distances = nearest_distances(valid_signatures[readable], train_signatures)
    return CopyCheck(copies=int((distances < COPY_DISTANCE).sum()), checked=int(readable.sum()))


def group_copies(signatures_: np.ndarray, distance: float = COPY_DISTANCE, chunk: int = 1024) -> np.ndarray:
    """A group number per image: images linked by chains of copies share one, which on
    augmented data means one group per photographed cell. Unreadable images stand alone."""
    readable = np.flatnonzero(~np.isnan(signatures_).any(axis=1))
    vectors = signatures_[readable]
    norms = (vectors**2).sum(axis=1)
    rows: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    for start in range(0, len(vectors), chunk):
        block = vectors[start : start + chunk]
        squared = norms[start : start + chunk, None] + norms[None, :] - 2 * block @ vectors.T
        near_rows, near_columns = np.nonzero(squared < distance**2)
        rows.append(near_rows + start)
        columns.append(near_columns)
    links = coo_matrix(
        (np.ones(sum(map(len, rows)), dtype=np.int8), (_joined(rows), _joined(columns))),
        shape=(len(vectors), len(vectors)),
    )
    _, linked_groups = connected_components(links, directed=False)
    groups = np.arange(len(signatures_)) + len(vectors)
    groups[readable] = linked_groups
    return groups


def cell_groups(
    paths: Sequence[Path],
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> np.ndarray:
    """`group_copies` of the images at `paths`."""
    return group_copies(signatures(paths, on_progress, should_stop))


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
