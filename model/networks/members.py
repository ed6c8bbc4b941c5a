"""An ensemble's networks in one torch module, and back: the one place that knows a model
file's torch side is a ModuleList of members for an ensemble and the network itself otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def networks_of(module: nn.Module, ensemble: bool) -> list[nn.Module]:
    """Each network of a loaded model, in the header's order."""
    return list(module) if ensemble else [module]  # type: ignore[call-overload]  # a ModuleList iterates


def packed(networks: Sequence[nn.Module], ensemble: bool) -> nn.Module:
    """The torch module that holds `networks` (one, unless `ensemble`)."""
    if not ensemble and len(networks) != 1:
        raise ValueError(f"a single network was expected, not {len(networks)}")
    return nn.ModuleList(networks) if ensemble else networks[0]
