"""Colour augmentation for another lab's stain and camera, as fastai batch transforms.

Labs differ in stain batch, staining time, camera and white balance: the same neutrophil is
pale lilac on one slide and deep purple on peach on another. `HedJitter` re-mixes the stains
(Tellez et al. 2018, "HED" augmentation): each training image's colours are split into
haematoxylin, eosin and residual optical densities (Ruifrok and Johnston's stain vectors),
each scaled and shifted at random, and recombined. Hue and saturation shifts come from fastai.
"""

from __future__ import annotations

import torch
from fastai.vision.augment import RandTransform
from fastai.vision.core import TensorImage

# Ruifrok & Johnston (2001) stain vectors, rows: haematoxylin, eosin, DAB (the residual).
RGB_FROM_HED = torch.tensor([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
HED_FROM_RGB = torch.linalg.inv(RGB_FROM_HED)
# Optical density of a pixel at 1/255 of full light; darker pixels are clipped to it.
_MIN_LIGHT = 1 / 255


class HedJitter(RandTransform):
    """Scale each stain's optical density by 1 +- `strength` and shift it by +- `strength`
    (uniform, drawn per image), on a batch of RGB images in [0, 1]; training batches only."""

    split_idx, order = 0, 15  # after the geometric transforms, before Normalize (order 99)

    def __init__(self, strength: float = 0.2, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.strength = strength

    def before_call(self, batch, split_idx: int) -> None:
        super().before_call(batch, split_idx)
        image = batch[0] if isinstance(batch, tuple) else batch
        shape = (image.shape[0], 1, 3)
        self.scale = 1 + (torch.rand(shape, device=image.device) * 2 - 1) * self.strength
        self.shift = (torch.rand(shape, device=image.device) * 2 - 1) * self.strength

    def encodes(self, image: TensorImage) -> TensorImage:
        return TensorImage(jitter_stains(image, self.scale, self.shift))


def jitter_stains(image: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """`image` (N, 3, H, W) in [0, 1] with its stain densities scaled and shifted; `scale` and
    `shift` are (N, 1, 3), one factor per image and stain."""
    n, channels, height, width = image.shape
    pixels = image.float().clamp(min=_MIN_LIGHT).reshape(n, channels, -1).transpose(1, 2)  # N, HW, 3
    density = -torch.log(pixels)
    stains = density @ HED_FROM_RGB.to(image.device)
    stains = stains * scale + shift
    light = torch.exp(-(stains @ RGB_FROM_HED.to(image.device)))
    return light.clamp(0, 1).transpose(1, 2).reshape(n, channels, height, width).to(image.dtype)
