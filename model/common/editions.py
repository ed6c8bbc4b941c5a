"""Which BloodCell this is: the full one (training, adapting, the GPU) or BloodCell Review
(classify and review only, on ONNX Runtime, without torch, fastai or CUDA). The difference is
what is installed, nothing else: the same code runs both. Imports nothing heavy (the window
asks before it is shown)."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys

FULL = "BloodCell"
REVIEW = "BloodCell Review"
# What training needs; the review build leaves all of it out.
TRAINING_PACKAGES = ("torch", "fastai")
WHERE_TO_TRAIN = (
    "Training and adapting models need the full BloodCell (with PyTorch), on a training workstation. "
    "This is BloodCell Review: it classifies and reviews with models made there. To adapt a model to this "
    "lab, export the verified cells (Model › Verified cells…), adapt on the workstation, and load the "
    "adapted model file here. A model with BatchNorm can also be matched to this lab's pictures (no labels "
    "needed): copy a few hundred of them to the workstation and use Model › Match this lab's images… there "
    "(the shipped default normalises each picture by itself and has nothing to match)."
)


@functools.cache
def installed(package: str) -> bool:
    """Whether `package` can be imported here (without importing it). What is installed does
    not change while the app runs, and the window title asks on every change of the session."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a module blocked or half-imported counts as absent
        return False


def torch_installed() -> bool:
    return installed("torch")


def training_available() -> bool:
    """Whether this installation can train (the full BloodCell)."""
    return all(installed(package) for package in TRAINING_PACKAGES)


def program_name() -> str:
    """The name the user typed: `bloodcell` from a source install, the frozen program's own name
    (bloodcell-cli, bloodcell-review-cli, BloodCell) in a bundle, so help and errors say it."""
    if getattr(sys, "frozen", False) and sys.argv and sys.argv[0]:
        return os.path.basename(sys.argv[0])
    return "bloodcell"


def edition() -> str:
    return FULL if training_available() else REVIEW
