"""Which BloodCell this is: the full one (training, adapting, the GPU) or BloodCell Review
(classify and review only, on ONNX Runtime, without torch, fastai or CUDA). The difference is
what is installed, nothing else: the same code runs both. Imports nothing heavy (the window
asks before it is shown)."""

from __future__ import annotations

import importlib.util

FULL = "BloodCell"
REVIEW = "BloodCell Review"
# What training needs; the review build leaves all of it out.
TRAINING_PACKAGES = ("torch", "fastai")
WHERE_TO_TRAIN = (
    "Training and adapting models need the full BloodCell (with PyTorch), on a training workstation. "
    "This is BloodCell Review: it classifies and reviews with models made there. To adapt a model to this "
    "lab, export the verified cells (Model › Verified cells…), adapt on the workstation, and load the "
    "adapted model file here."
)


def torch_installed() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a module blocked or half-imported counts as absent
        return False


def training_available() -> bool:
    """Whether this installation can train (the full BloodCell)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in TRAINING_PACKAGES)
    except (ImportError, ValueError):
        return False


def edition() -> str:
    return FULL if training_available() else REVIEW
