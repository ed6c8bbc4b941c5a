import numpy as np
import torch
from fastai.vision.core import TensorImage
from skimage.color import rgb2lab

from model.training.settings import Augmentation
from model.training.stain import (
    HED_FROM_RGB,
    RGB_FROM_HED,
    LabColourCast,
    cast_colours,
    jitter_stains,
    lab_to_rgb,
    rgb_to_lab,
)


def test_no_jitter_leaves_the_image_as_it_was():
    image = torch.rand(2, 3, 8, 8) * 0.9 + 0.05
    same = jitter_stains(image, torch.ones(2, 1, 3), torch.zeros(2, 1, 3))
    assert torch.allclose(same, image, atol=1e-4)


def test_more_haematoxylin_darkens_and_blues_only_the_chosen_image():
    image = torch.full((2, 3, 4, 4), 0.7)
    scale = torch.ones(2, 1, 3)
    shift = torch.zeros(2, 1, 3)
    shift[0, 0, 0] = 0.3  # haematoxylin up in the first image
    out = jitter_stains(image, scale, shift)
    assert torch.allclose(out[1], image[1], atol=1e-4)
    red, green, blue = out[0].mean(dim=(1, 2))
    assert red < 0.7 and green < 0.7 and blue > red  # darker, bluer: a stronger nuclear stain


def test_the_stain_matrices_are_inverse():
    assert torch.allclose(HED_FROM_RGB @ RGB_FROM_HED, torch.eye(3), atol=1e-5)


def test_lab_conversion_is_scikit_images_and_goes_back():
    image = torch.rand(2, 3, 6, 5)
    lab = rgb_to_lab(image)
    expected = rgb2lab(image.permute(0, 2, 3, 1).double().numpy())
    assert np.allclose(lab.permute(0, 2, 3, 1).numpy(), expected, atol=0.05)
    assert torch.allclose(lab_to_rgb(lab), image, atol=1e-3)


def test_a_colour_cast_moves_only_the_chosen_picture_and_keeps_its_own_spread_otherwise():
    image = torch.rand(2, 3, 8, 8) * 0.6 + 0.2
    shift, spread = torch.zeros(2, 3), torch.ones(2, 3)
    assert torch.allclose(cast_colours(image, shift, spread), image, atol=1e-3)
    shift[0, 2] = 10.0  # b* up in the first picture: yellower, i.e. less blue
    out = cast_colours(image, shift, spread)
    assert torch.allclose(out[1], image[1], atol=1e-3)
    assert out[0, 2].mean() < image[0, 2].mean() - 0.02
    lab_before, lab_after = rgb_to_lab(image[:1]), rgb_to_lab(out[:1])
    assert abs((lab_after[0, 2].mean() - lab_before[0, 2].mean()).item() - 10) < 1  # the mean moved by the shift


def test_the_training_cast_is_drawn_per_picture_within_its_range():
    torch.manual_seed(0)
    cast = LabColourCast(10.0)
    cast.before_call(TensorImage(torch.rand(256, 3, 4, 4)), split_idx=0)
    assert cast.shift[:, 1:].abs().max() <= 10 and cast.shift[:, 1:].abs().max() > 9
    assert cast.shift[:, 0].abs().max() <= 5
    assert cast.spread.min() >= 1 / 1.5 - 1e-6 and cast.spread.max() <= 1.5 + 1e-6
    assert len({round(v, 4) for v in cast.shift[:, 1].tolist()}) == 256  # one draw per picture


def test_the_colour_cast_is_a_training_augmentation_only():
    transforms = Augmentation(colour_cast=10.0).transforms()
    casts = [t for t in transforms if isinstance(t, LabColourCast)]
    assert len(casts) == 1 and casts[0].split_idx == 0  # fastai applies it to the training split only
    assert not any(isinstance(t, LabColourCast) for t in Augmentation().transforms())


def test_a_colour_share_keeps_the_other_pictures_colours_exactly():
    torch.manual_seed(0)
    (wrapper,) = [t for t in Augmentation(stain=0.4, colour_cast=10.0, colour_share=0.5).transforms() if t.order == 15]
    pictures = TensorImage(torch.rand(200, 3, 8, 8) * 0.8 + 0.1)
    out = wrapper(pictures.clone(), split_idx=0)
    untouched = (out == pictures).flatten(1).all(dim=1)
    assert 60 < int(untouched.sum()) < 140  # about half, drawn per picture
    assert ((out - pictures).abs().flatten(1).amax(dim=1)[~untouched] > 0.01).all()
    assert wrapper(pictures.clone(), split_idx=1).equal(pictures)  # validation pictures keep theirs
