"""Running a model's networks with PyTorch: on a GPU (in half precision), and on the CPU for a
network that has no ONNX graph yet (one just trained or adapted, or a file saved before graphs).

The pipeline around it (decoding, framing, batching, scoring) is `model.inference.classifier`'s and is shared
with `model.inference.backends.onnx_backend`; this module only turns prepared pixels into network outputs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from model.fileformat.header import LoadedModel, ModelFileError
from model.fileformat.probe import GPU_TOLERANCE, TOLERANCE, ProbeMismatch, ProbeRecord, check_answers, probe_pixels
from model.images.preprocess import InputPolicy
from model.images.symmetry import view_functions
from model.inference.classifier import ViewOutputs
from model.inference.devices import describe_device, resolve_device
from model.networks.members import networks_of


def last_linear(module: nn.Module) -> nn.Linear | None:
    """The network's final linear layer: its input is the penultimate feature vector that the
    unfamiliar-image distance is measured on. None for a network without one."""
    linears = [layer for layer in module.modules() if isinstance(layer, nn.Linear)]
    return linears[-1] if linears else None


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """A copy of `module` for inference, with each BatchNorm that follows a convolution in a
    Sequential folded into that convolution's weights: the same outputs (to float rounding),
    one pass less over every feature map (measured: ~5-10 % more images/s for seed-deep on CPU).
    """
    folded = copy.deepcopy(module).eval()
    for sequence in folded.modules():
        if not isinstance(sequence, nn.Sequential):
            continue
        for i in range(len(sequence) - 1):
            conv, norm = sequence[i], sequence[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                sequence[i] = fuse_conv_bn_eval(conv, norm)
                sequence[i + 1] = nn.Identity()
    return folded


def network_input(pixels: np.ndarray, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """An NHWC uint8 batch as a network's normalised NCHW float input, on `mean`'s device
    (`mean` and `std` shaped 1x3x1x1)."""
    batch = torch.from_numpy(pixels).to(mean.device, non_blocking=True).permute(0, 3, 1, 2)
    return (batch.float().div_(255) - mean) / std


def torch_views(views: str) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """The view set's views as functions of an NCHW tensor (model.images.symmetry.numpy_views' twins)."""
    return view_functions(
        views, lambda x, quarters: x.rot90(quarters, dims=(-2, -1)), torch.flip, {"height": -2, "width": -1}
    )


def record_features(network: nn.Module, seen: list[torch.Tensor]) -> bool:
    """Append to `seen` what the network's last linear layer receives (its penultimate features)
    on every forward pass; False for a network without one."""
    head = last_linear(network)
    if head is not None:
        head.register_forward_hook(lambda _, inputs, output: seen.append(inputs[0]))
    return head is not None


def probe_record(network: nn.Module, policy: InputPolicy) -> ProbeRecord:
    """What `network` (float32, on the CPU, in eval mode) answers on the probe: logits and
    features. A copy runs it, so `network` gains no feature hook."""
    answer = _Network.on(copy.deepcopy(network), policy, "none", torch.device("cpu"), half=False).probe_answer()
    return ProbeRecord(*answer)


@dataclass
class _Network:
    """One network on its device, with its normalisation and test-time views."""

    module: nn.Module
    mean: torch.Tensor
    std: torch.Tensor
    views: str
    policy: InputPolicy
    half: bool = False
    # What the last linear layer saw (the penultimate features) in the current forward pass.
    seen: list[torch.Tensor] = field(default_factory=list)

    def __post_init__(self) -> None:
        record_features(self.module, self.seen)

    @classmethod
    def on(cls, module: nn.Module, policy: InputPolicy, views: str, device: torch.device, half: bool) -> _Network:
        def statistic(values) -> torch.Tensor:
            return torch.tensor(values, device=device).view(1, 3, 1, 1)

        return cls(module, statistic(policy.mean), statistic(policy.std), views, policy, half)

    @torch.inference_mode()
    def answer(self, pixels: np.ndarray) -> ViewOutputs:
        """Logits and features, view by view, for an NHWC uint8 batch in the network's frame."""
        batch = network_input(pixels, self.mean, self.std)
        batch = batch.half() if self.half else batch
        logits: list[torch.Tensor] = []
        features: list[torch.Tensor] = []
        for view in torch_views(self.views):
            self.seen.clear()
            logits.append(self.module(view(batch).contiguous(memory_format=torch.channels_last)).float())
            features.extend(seen.float() for seen in self.seen[-1:])
        self.seen.clear()
        return ViewOutputs(
            torch.stack(logits).cpu().numpy(),
            torch.stack(features).cpu().numpy() if len(features) == len(logits) else None,
        )

    def probe_answer(self) -> tuple[np.ndarray, np.ndarray]:
        """Logits and features on the probe (model.fileformat.probe), one view: as the file recorded them
        (no features, for a network without a final linear layer, as zero of them)."""
        answer = self.answer(probe_pixels(self.policy.height, self.policy.width))
        logits = answer.logits[0]
        return logits, answer.features[0] if answer.features is not None else np.zeros((len(logits), 0), np.float32)


class TorchBackend:
    """A loaded model's torch networks on a device."""

    def __init__(self, loaded: LoadedModel, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self._half = self.device.type == "cuda"
        modules = networks_of(loaded.module, loaded.info.is_ensemble)
        self._networks = []
        for index, (module, network) in enumerate(zip(modules, loaded.info.networks, strict=True)):
            folded = fold_batch_norms(module).to(self.device).to(memory_format=torch.channels_last)
            folded = folded.half() if self._half else folded
            runner = _Network.on(folded, network.policy, network.test_time_views, self.device, self._half)
            if loaded.probes:  # the weights are the network the file recorded (model.fileformat.probe)
                tolerance = GPU_TOLERANCE if self._half else TOLERANCE
                try:
                    check_answers(
                        loaded.path, index, loaded.probes[index], *runner.probe_answer(), backend="torch",
                        tolerance=tolerance,
                    )  # fmt: skip
                except ProbeMismatch as error:
                    raise ModelFileError(loaded.path, str(error)) from None
            self._networks.append(runner)

    def describe(self) -> str:
        return describe_device(self.device)

    def run(self, batches: Sequence[np.ndarray]) -> list[ViewOutputs]:
        """Each network's logits and features, view by view, for one NHWC uint8 batch per
        network (each in its own frame)."""
        return [network.answer(pixels) for network, pixels in zip(self._networks, batches, strict=True)]
