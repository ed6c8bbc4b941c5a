"""The settings of a fine-tuning to a lab's verified cells (model.adaptation.finetune), kept apart so that
the command line's parser and the window read the defaults without loading torch."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FinetuneSettings:
    """How a model is adapted; recorded in the adapted file."""

    # Epochs with only the last layer learning, then with the whole network.
    frozen_epochs: int = 2
    epochs: int = 6
    lr: float = 5e-3
    # The earlier layers learn this many times slower than the last one in the second phase.
    body_lr_factor: float = 10.0
    batch_size: int = 16
    # Share of each class's cells held back to compare before and after.
    held_back_share: float = 0.25
    seed: int = 0
    device: str = "auto"

    def problems(self) -> list[str]:
        problems = []
        if not (isinstance(self.frozen_epochs, int) and 0 <= self.frozen_epochs <= 100):
            problems.append(f"frozen epochs must be from 0 to 100, not {self.frozen_epochs}")
        if not (isinstance(self.epochs, int) and 1 <= self.epochs <= 100):
            problems.append(f"epochs must be from 1 to 100, not {self.epochs}")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 1):
            problems.append(f"the learning rate must be above 0 and at most 1, not {self.lr}")
        if not (math.isfinite(self.body_lr_factor) and 1 <= self.body_lr_factor <= 1000):
            problems.append(f"the body's learning-rate factor must be from 1 to 1000, not {self.body_lr_factor}")
        if not (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 1024):
            problems.append(f"the batch size must be from 1 to 1024, not {self.batch_size}")
        if not (math.isfinite(self.held_back_share) and 0 <= self.held_back_share < 1):
            problems.append(f"the held-back share must be from 0 to below 1, not {self.held_back_share}")
        return problems

    def to_json(self) -> dict:
        return asdict(self)
