"""What long-running engine work reports to whoever started it (a terminal, a Qt worker)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScanProgress:
    what: str
    done: int
    total: int


@dataclass(frozen=True)
class BatchProgress:
    epoch: int
    n_epochs: int
    batch: int
    n_batches: int
    loss: float
    elapsed: float
    eta: float


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    n_epochs: int
    train_loss: float
    valid_loss: float
    accuracy: float
    is_best: bool
    elapsed: float
    eta: float


@dataclass(frozen=True)
class StageStart:
    """A new phase of a long job, so that its epoch counts can be read: which network of an
    ensemble, and what is trained (the last layer alone, then the whole network)."""

    network: int  # from 0
    n_networks: int
    arch: str
    what: str

    def describe(self) -> str:
        return f"network {self.network + 1} of {self.n_networks} ({self.arch}): {self.what}"


TrainEvent = ScanProgress | BatchProgress | EpochEnd | StageStart
