"""The one input-size policy, shared by training and inference and recorded in model files."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputPolicy:
    """Images are scaled to fit `width` x `height` keeping their aspect, then padded with black.

    The training data are 320x240, so at 4:3 sizes nothing is padded; other shapes are
    letterboxed rather than distorted, because a stretched nucleus would change its shape.
    """

    width: int = 160
    height: int = 120
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def to_json(self) -> dict:
        return {"method": "fit-and-pad-black", **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> InputPolicy:
        if data.get("method", "fit-and-pad-black") != "fit-and-pad-black":
            raise ValueError(f"unknown resize method {data.get('method')!r}")
        return cls(
            width=int(data["width"]),
            height=int(data["height"]),
            mean=tuple(float(v) for v in data["mean"]),
            std=tuple(float(v) for v in data["std"]),
        )


def fit_to_input(image: Image.Image, policy: InputPolicy) -> Image.Image:
    """Scale an RGB image into the policy's frame, centred on black."""
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


def to_uint8_array(image: Image.Image, policy: InputPolicy) -> np.ndarray:
    """HWC uint8 pixels in the policy's frame; normalisation happens on the batch, on device."""
    return np.asarray(fit_to_input(image, policy), dtype=np.uint8)
