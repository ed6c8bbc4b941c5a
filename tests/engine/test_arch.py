import pytest
import torch
from torchvision import models as tv_models

from model.arch import ARCHITECTURES, ArchitectureError, build_model


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_architecture_maps_a_batch_to_class_scores(arch):
    network = build_model(arch, 4).eval()
    with torch.no_grad():
        assert network(torch.randn(2, 3, 64, 48)).shape == (2, 4)


def test_resnet_starts_from_a_local_weights_file(tmp_path):
    source = tv_models.resnet18(weights=None)
    torch.save(source.state_dict(), tmp_path / "resnet18.pth")
    network = build_model("resnet18", 3, tmp_path / "resnet18.pth")
    assert torch.equal(network[0][0].weight, source.conv1.weight)


def test_weights_of_another_architecture_are_refused(tmp_path):
    torch.save(tv_models.resnet34(weights=None).state_dict(), tmp_path / "resnet34.pth")
    with pytest.raises(ArchitectureError, match="do not match"):
        build_model("resnet18", 3, tmp_path / "resnet34.pth")


def test_seed_cnn_does_not_take_initial_weights(tmp_path):
    with pytest.raises(ArchitectureError, match="only supported for ResNets"):
        build_model("seed", 3, tmp_path / "w.pth")
