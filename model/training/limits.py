"""The ranges of the training settings, declared once: the settings check
(model.training.settings.TrainConfig.problems), the command line's argument types and the
wizard's spin boxes all read them, so none accepts what another refuses."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """A setting's range, and what it is called when a value falls outside it."""

    low: float
    high: float
    whole: bool
    words: str

    def problem(self, value: object) -> str | None:
        """Why `value` cannot be this setting, in words; None when it can."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            whole_enough = float(value).is_integer() or not self.whole
            if whole_enough and self.low <= value <= self.high:
                return None
        kind = "a whole number" if self.whole else "a number"
        return f"{self.words} must be {kind} from {self.low:g} to {self.high:g}, not {value!r}"


EPOCHS = Limit(1, 500, True, "the number of epochs")
BATCH_SIZE = Limit(1, 1024, True, "the batch size")
LEARNING_RATE = Limit(1e-5, 1.0, False, "the learning rate")
PATIENCE = Limit(0, 100, True, "early-stopping patience (0: off)")
MIXUP = Limit(0, 2, False, "MixUp alpha (0: off)")
VALID_SHARE = Limit(0.05, 0.5, False, "the validation share")
INPUT_SIDE = Limit(16, 1024, True, "each side of the network's input (pixels)")
HOLDOUT_PERCENT = Limit(0, 99, True, "the held-out share (percent)")
COPIES_PER_CELL = Limit(0, 10_000, True, "the number of copies per cell (0: all)")
