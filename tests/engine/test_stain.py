import torch

from model.stain import HED_FROM_RGB, RGB_FROM_HED, jitter_stains


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
