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


TrainEvent = ScanProgress | BatchProgress | EpochEnd
