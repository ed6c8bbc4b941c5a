"""Colour augmentation for another lab's stain and camera, as fastai batch transforms.

Labs differ in stain batch, staining time, camera and white balance: the same neutrophil is
pale lilac on one slide and deep purple on peach on another. `HedJitter` re-mixes the stains
(Tellez et al. 2018, "HED" augmentation): each training image's colours are split into
haematoxylin, eosin and residual optical densities (Ruifrok and Johnston's stain vectors),
each scaled and shifted at random, and recombined. `LabColourCast` moves each picture's colour
balance and contrast as a camera's white balance and a microscope's lamp do: a random Reinhard
transfer in CIE-Lab (each channel's mean shifted, its spread scaled). Hue and saturation shifts
come from fastai.
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


# sRGB (D65) to CIE XYZ, and the D65 white point: the conversion scikit-image's rgb2lab makes.
XYZ_FROM_RGB = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
RGB_FROM_XYZ = torch.linalg.inv(XYZ_FROM_RGB)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883])
_EPSILON, _KAPPA = 216 / 24389, 24389 / 27


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB in [0, 1] to CIE-Lab (L 0-100, a and b about -128 to 127)."""
    linear = torch.where(image > 0.04045, ((image + 0.055) / 1.055) ** 2.4, image / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", XYZ_FROM_RGB.to(image.device), linear)
    xyz = xyz / _WHITE.to(image.device).view(1, 3, 1, 1)
    f = torch.where(xyz > _EPSILON, xyz.clamp(min=1e-12) ** (1 / 3), (_KAPPA * xyz + 16) / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE-Lab back to sRGB, out-of-gamut colours clipped to [0, 1]."""
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = torch.where(f**3 > _EPSILON, f**3, (116 * f - 16) / _KAPPA) * _WHITE.to(lab.device).view(1, 3, 1, 1)
    linear = torch.einsum("ij,njhw->nihw", RGB_FROM_XYZ.to(lab.device), xyz).clamp(0, 1)
    return torch.where(linear > 0.0031308, 1.055 * linear.clamp(min=1e-12) ** (1 / 2.4) - 0.055, 12.92 * linear)


def cast_colours(image: torch.Tensor, shift: torch.Tensor, spread: torch.Tensor) -> torch.Tensor:
    """`image` (N, 3, H, W) in [0, 1] with each picture's Lab channels moved about their own
    mean: mean shifted by `shift`, spread scaled by `spread` (both (N, 3), Lab units)."""
    lab = rgb_to_lab(image.float())
    mean = lab.mean(dim=(2, 3), keepdim=True)
    moved = (lab - mean) * spread[:, :, None, None] + mean + shift[:, :, None, None]
    return lab_to_rgb(moved).to(image.dtype)


class LabColourCast(RandTransform):
    """A random colour cast per training picture: a* and b* means shifted by up to +- `strength`
    Lab units, L's by half that, and each channel's spread scaled by up to 1 + `strength` / 20
    either way (10: the means moved by about what separates blood-cells/ from pbc/, a* 8.5 and
    15.5, b* -6.0 and -0.2, and spreads by up to 1.5x; research/probe_colour_cast.py)."""

    split_idx, order = 0, 16  # after the stain re-mixing, before Normalize (order 99)

    def __init__(self, strength: float = 10.0, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.strength = strength

    def before_call(self, batch, split_idx: int) -> None:
        super().before_call(batch, split_idx)
        image = batch[0] if isinstance(batch, tuple) else batch
        draw = torch.rand(image.shape[0], 3, device=image.device) * 2 - 1
        self.shift = draw * self.strength * torch.tensor([0.5, 1.0, 1.0], device=image.device)
        log_range = torch.log1p(torch.tensor(self.strength / 20, device=image.device))
        self.spread = torch.exp((torch.rand(image.shape[0], 3, device=image.device) * 2 - 1) * log_range)

    def encodes(self, image: TensorImage) -> TensorImage:
        return TensorImage(cast_colours(image, self.shift, self.spread))


class ForAShareOfPictures(RandTransform):
    """Gives `changes` (colour transforms) to a random `share` of each training batch's
    pictures, drawn per picture; the others keep their own colours."""

    split_idx, order = 0, 15

    def __init__(self, changes: list, share: float) -> None:
        super().__init__()
        self.changes = sorted(changes, key=lambda change: change.order)
        self.share = share

    def encodes(self, image: TensorImage) -> TensorImage:
        changed = image.clone()
        for change in self.changes:
            changed = change(changed, split_idx=0)
        keep = torch.rand(image.shape[0], device=image.device) >= self.share
        return TensorImage(torch.where(keep[:, None, None, None], image, changed))
