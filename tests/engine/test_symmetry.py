import pytest
import torch
from torch import nn

from model.config import Augmentation, TrainConfig
from model.symmetry import FLIPS, MIRROR, NONE, QUARTER_TURNS, average_probabilities


class TopLeftCorner(nn.Module):
    """A network with no symmetry at all: its logits are the top-left pixel's channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, 0, 0] * 5


@pytest.fixture
def batch() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(6, 3, 16, 16)


def test_one_view_is_the_network_softmax(batch):
    expected = torch.softmax(TopLeftCorner()(batch), dim=1)
    assert torch.allclose(average_probabilities(TopLeftCorner(), batch, NONE), expected)


@pytest.mark.parametrize(
    ("views", "symmetries"),
    [
        (MIRROR, [lambda x: x.flip(-1)]),
        (FLIPS, [lambda x: x.flip(-1), lambda x: x.flip(-2)]),
        (QUARTER_TURNS, [lambda x: x.rot90(1, dims=(-2, -1)), lambda x: x.rot90(2, dims=(-2, -1))]),
    ],
)
def test_the_average_does_not_change_when_the_image_is_turned_or_flipped(batch, views, symmetries):
    network = TopLeftCorner()
    averaged = average_probabilities(network, batch, views)
    for symmetry in symmetries:
        turned = symmetry(batch)
        assert not torch.allclose(torch.softmax(network(turned), 1), torch.softmax(network(batch), 1))
        assert torch.allclose(average_probabilities(network, turned, views), averaged, atol=1e-6)
    assert torch.allclose(averaged.sum(dim=1), torch.ones(len(batch)))


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
