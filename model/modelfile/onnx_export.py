"""Exporting a network to the ONNX graph that model files carry beside its weights.

The graph takes the prepared pixels as bytes (uint8, batch x 3 x height x width), normalises
them as the torch backend does ((x / 255 - mean) / std, in float32) and gives `logits` and
`features` (the input of the last linear layer, for the unfamiliar-image score). Normalising
inside the graph keeps the CPU's main thread free and moves a quarter of the bytes per view. It
is exported from the weights exactly as the file stores them (float16, then float32 again) with
the BatchNorms folded, the same network the torch backend runs, so both give the same answers.
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from model.fileformat.onnx_graph import INPUT, OPSET, OUTPUTS
from model.images.preprocess import InputPolicy
from model.inference.backends.torch_backend import fold_batch_norms, record_features


class ExportError(RuntimeError):
    pass


class _WithFeatures(nn.Module):
    """Normalisation, the network, and what its last linear layer sees."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, network: nn.Module, policy: InputPolicy) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("mean", torch.tensor(policy.mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(policy.std, dtype=torch.float32).view(1, 3, 1, 1))
        self._seen: list[torch.Tensor] = []
        if not record_features(network, self._seen):
            raise ExportError("the network has no final linear layer to take features from")

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._seen.clear()
        logits = self.network((pixels.float() / 255 - self.mean) / self.std)
        return logits, self._seen[-1]


def export_network(network: nn.Module, policy: InputPolicy) -> bytes:
    """The network's ONNX graph, serialised, for the inputs `policy` prepares."""
    wrapped = _WithFeatures(fold_batch_norms(network).float().cpu().eval(), policy)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript-based exporter: quick (~0.3 s for seed-deep), no extra packages; its
        # deprecation notice is for developers, not for someone saving a model.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (torch.zeros(1, 3, policy.height, policy.width, dtype=torch.uint8),),
            buffer,  # type: ignore[arg-type]  # a file object is documented and works
            dynamo=False,
            input_names=[INPUT],
            output_names=list(OUTPUTS),
            dynamic_axes={name: {0: "batch"} for name in (INPUT, *OUTPUTS)},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    return buffer.getvalue()
