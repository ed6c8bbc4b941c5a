"""Exporting a network to the ONNX graph that model files carry beside its weights.

The graph takes normalised pixels (batch, 3, height, width) and gives `logits` and `features`
(the input of the last linear layer, for the unfamiliar-image score). It is exported from the
weights exactly as the file stores them (float16, then float32 again) with the BatchNorms
folded, the same network the torch backend runs, so both backends give the same answers.
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from model.onnx_graph import INPUT, OPSET, OUTPUTS
from model.torch_backend import fold_batch_norms, last_linear


class ExportError(RuntimeError):
    pass


class _WithFeatures(nn.Module):
    """The network, also returning what its last linear layer sees."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self._seen: list[torch.Tensor] = []
        head = last_linear(network)
        if head is None:
            raise ExportError("the network has no final linear layer to take features from")
        head.register_forward_hook(lambda _, inputs, output: self._seen.append(inputs[0]))

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._seen.clear()
        logits = self.network(pixels)
        return logits, self._seen[-1]


def export_network(network: nn.Module, width: int, height: int) -> bytes:
    """The network's ONNX graph, serialised, for inputs of `width` x `height`."""
    wrapped = _WithFeatures(fold_batch_norms(network).float().cpu().eval())
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript-based exporter: quick (~0.3 s for seed-deep), no extra packages; its
        # deprecation notice is for developers, not for someone saving a model.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (torch.zeros(1, 3, height, width),),
            buffer,
            dynamo=False,
            input_names=[INPUT],
            output_names=list(OUTPUTS),
            dynamic_axes={name: {0: "batch"} for name in (INPUT, *OUTPUTS)},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    return buffer.getvalue()
