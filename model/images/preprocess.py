"""The one input-size policy, shared by training and inference and recorded in model files."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from model.images.cell_locator import locate_stained_cell

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


WHOLE_IMAGE = "whole"
STAINED_CELL = "cell"
FRAMINGS = {
    WHOLE_IMAGE: "The whole image, scaled to fit and padded with black",
    STAINED_CELL: "Centred on the stained cell",
}
_METHODS = {WHOLE_IMAGE: "fit-and-pad-black", STAINED_CELL: "stained-cell-crop"}


@dataclass(frozen=True)
class InputPolicy:
    """How any image becomes a `width` x `height` network input.

    Framing "whole": the image is scaled to fit keeping its aspect, then padded with black
    (letterboxed rather than distorted, because a stretched nucleus would change its shape).
    Framing "cell": a window `crop_fraction` of the shorter side, centred on the stained
    leukocyte, is cut out first and then fitted the same way. The cell then fills the input
    at close to the photo's own resolution, and the red cells around it, which differ from
    photo to photo and let a network memorise individual photos, mostly fall outside.
    """

    width: int = 160
    height: int = 120
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    framing: str = WHOLE_IMAGE
    crop_fraction: float = 0.6

    def __post_init__(self) -> None:
        if self.framing not in FRAMINGS:
            raise ValueError(f"unknown framing {self.framing!r}; choose one of {', '.join(FRAMINGS)}")

    def describe(self) -> str:
        if self.framing == STAINED_CELL:
            share = f"{self.crop_fraction:.0%} of the shorter side"
            return f"{self.width}×{self.height} pixels, centred on the stained cell (window {share})"
        return f"{self.width}×{self.height} pixels, the whole image scaled to fit and padded with black"

    def to_json(self) -> dict:
        data = {"method": _METHODS[self.framing], **asdict(self)}
        del data["framing"]
        if self.framing == WHOLE_IMAGE:
            del data["crop_fraction"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> InputPolicy:
        method = data.get("method", _METHODS[WHOLE_IMAGE])
        framing = next((key for key, value in _METHODS.items() if value == method), None)
        if framing is None:
            raise ValueError(f"unknown resize method {method!r}")
        return cls(
            width=int(data["width"]),
            height=int(data["height"]),
            mean=_three(data["mean"]),
            std=_three(data["std"]),
            framing=framing,
            crop_fraction=float(data.get("crop_fraction", cls.crop_fraction)),
        )


# `cell` argument: where the stained cell is, when the caller has located it already.
NOT_LOCATED = object()


def fit_to_input(image: Image.Image, policy: InputPolicy, cell=NOT_LOCATED) -> Image.Image:
    """The policy's view of an RGB image: cut around the cell if it says so, then fitted."""
    if policy.framing == STAINED_CELL:
        image = crop_around_cell(image, policy, cell)
    return _letterbox(image, policy)


def crop_around_cell(image: Image.Image, policy: InputPolicy, cell=NOT_LOCATED) -> Image.Image:
    """A window of the input's aspect around the stained cell (the image centre if none is
    found), moved inward rather than padded where the cell lies near an edge."""
    width, height = image.size
    if cell is NOT_LOCATED:
        cell = locate_stained_cell(image)
    centre = cell or (width // 2, height // 2)
    wanted = max(1, round(policy.crop_fraction * min(width, height)))
    if wanted > min(width, height):  # a window wider than the picture: the smear goes on, mirrored
        image, centre = _mirrored_beyond(image, centre, wanted, round(wanted * policy.width / policy.height))
        width, height = image.size
    window_height = max(1, min(height, wanted))
    window_width = max(1, min(width, round(window_height * policy.width / policy.height)))
    left = min(max(centre[0] - window_width // 2, 0), width - window_width)
    top = min(max(centre[1] - window_height // 2, 0), height - window_height)
    return image.crop((left, top, left + window_width, top + window_height))


def _mirrored_beyond(
    image: Image.Image, centre: tuple[int, int], window_height: int, window_width: int
) -> tuple[Image.Image, tuple[int, int]]:
    """`image` extended by mirroring so that a window of this size fits around `centre` (a lab at
    a higher magnification than the model's frames the cell larger than the picture allows)."""
    width, height = image.size
    pad_x = max(0, (window_width - width + 1) // 2 + 1)
    pad_y = max(0, (window_height - height + 1) // 2 + 1)
    pixels = np.asarray(image)
    pad_x, pad_y = min(pad_x, width - 1), min(pad_y, height - 1)  # numpy mirrors at most once
    extended = np.pad(pixels, ((pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="symmetric")
    return Image.fromarray(extended), (centre[0] + pad_x, centre[1] + pad_y)


def _letterbox(image: Image.Image, policy: InputPolicy) -> Image.Image:
    width, height = image.size
    if (width, height) == (policy.width, policy.height):
        return image
    scale = min(policy.width / width, policy.height / height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = image.resize(new_size, Image.Resampling.BILINEAR)
    if new_size == (policy.width, policy.height):
        return resized
    frame = Image.new("RGB", (policy.width, policy.height))
    frame.paste(resized, ((policy.width - new_size[0]) // 2, (policy.height - new_size[1]) // 2))
    return frame


def to_uint8_array(image: Image.Image, policy: InputPolicy, cell=NOT_LOCATED) -> np.ndarray:
    """HWC uint8 pixels in the policy's frame; normalisation happens on the batch, on device."""
    return np.asarray(fit_to_input(image, policy, cell), dtype=np.uint8)


def _three(values) -> tuple[float, float, float]:
    """Three per-channel numbers (red, green, blue)."""
    red, green, blue = (float(value) for value in values)
    return red, green, blue
