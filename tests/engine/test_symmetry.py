import numpy as np
import pytest
import torch

from model.images.symmetry import FLIPS, MIRROR, NONE, QUARTER_TURNS, VIEW_SETS, numpy_views
from model.inference.backends.torch_backend import torch_views
from model.inference.classifier import ViewOutputs, combine_networks
from model.training.settings import Augmentation, TrainConfig


def top_left_corner(nhwc: np.ndarray) -> np.ndarray:
    """A network with no symmetry at all: its logits are the top-left pixel's channels."""
    return nhwc[:, 0, 0, :] * 5


def averaged(batch: np.ndarray, views: str) -> np.ndarray:
    logits = np.stack([top_left_corner(view(batch)) for view in numpy_views(views)])
    return combine_networks([ViewOutputs(logits, None)]).probabilities


@pytest.fixture
def batch() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(6, 16, 16, 3)).astype(np.float32)


@pytest.mark.parametrize("views", list(VIEW_SETS))
def test_both_backends_take_the_same_views(batch, views):
    nchw = torch.from_numpy(batch).permute(0, 3, 1, 2)
    for as_numpy, as_torch in zip(numpy_views(views), torch_views(views), strict=True):
        assert np.array_equal(as_numpy(batch), as_torch(nchw).permute(0, 2, 3, 1).numpy())


def test_one_view_is_the_network_softmax(batch):
    logits = top_left_corner(batch)
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert np.allclose(averaged(batch, NONE), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("views", "symmetries"),
    [
        (MIRROR, [lambda x: np.flip(x, 2)]),
        (FLIPS, [lambda x: np.flip(x, 2), lambda x: np.flip(x, 1)]),
        (QUARTER_TURNS, [lambda x: np.rot90(x, 1, axes=(1, 2)), lambda x: np.rot90(x, 2, axes=(1, 2))]),
    ],
)
def test_the_average_does_not_change_when_the_image_is_turned_or_flipped(batch, views, symmetries):
    reference = averaged(batch, views)
    for symmetry in symmetries:
        turned = symmetry(batch)
        assert not np.allclose(averaged(turned, NONE), averaged(batch, NONE))
        assert np.allclose(averaged(turned, views), reference, atol=1e-6)
    assert np.allclose(reference.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("flip_vert", "size", "enabled", "expected"),
    [
        (True, (128, 128), True, QUARTER_TURNS),
        (True, (160, 120), True, FLIPS),  # a quarter turn would not fit a non-square input
        (False, (128, 128), True, MIRROR),  # the network only saw left-right mirrors
        (True, (128, 128), False, NONE),
    ],
)
def test_training_settings_choose_the_views_training_covered(flip_vert, size, enabled, expected):
    config = TrainConfig(
        data=".",
        width=size[0],
        height=size[1],
        augmentation=Augmentation(flip_vert=flip_vert),
        test_time_augmentation=enabled,
    )
    assert config.test_time_views == expected
