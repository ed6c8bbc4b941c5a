"""Probe: is a pbc-to-bc network's failure on blood-cells TEST the other lab's colour cast?

Scores saved pbc-to-bc networks (scripts/leave_one_lab_out.py --save) on TEST as they are, and
again with each framed picture's colours first moved to the training lab's average: each
channel's mean and spread set to those of 400 of `pbc/`'s training pictures, in RGB or in CIE-Lab
(Reinhard's transfer). Nothing is retrained; no TEST label is used except to score.

    python scripts/probe_colour_cast.py out/lolo/models/seed-instance-stain-pbc-to-bc-s1.safetensors ...
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from skimage.color import lab2rgb, rgb2lab

from model.dev_data import BLOOD_CELLS, PBC
from model.evaluate import Evaluation
from model.ground_truth import ground_truth
from model.holdout import is_held_out
from model.infer import decode_image
from model.modelfile import load
from model.torch_backend import network_input

SPACES = ("rgb", "lab")


def framed(paths: list[Path], policy) -> np.ndarray:
    decoded = [decode_image(path, [policy]) for path in paths]
    return np.stack([d.pixels[0] for d in decoded if not isinstance(d, str)])


def to_space(pixels: np.ndarray, space: str) -> np.ndarray:
    values = pixels.astype(np.float64) / 255
    return rgb2lab(values) if space == "lab" else values


def channel_statistics(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = values.reshape(-1, 3)
    return flat.mean(0), flat.std(0) + 1e-6


def moved(picture: np.ndarray, space: str, mean: np.ndarray, spread: np.ndarray) -> np.ndarray:
    values = to_space(picture, space)
    own_mean, own_spread = channel_statistics(values)
    values = (values - own_mean) / own_spread * spread + mean
    if space == "lab":
        with warnings.catch_warnings():  # out-of-gamut colours are clipped, as intended
            warnings.simplefilter("ignore")
            values = lab2rgb(values)
    return (np.clip(values, 0, 1) * 255).round().astype(np.uint8)


@torch.no_grad()
def score(module: torch.nn.Module, policy, pixels: np.ndarray, truths: list[int], classes: list[str]) -> Evaluation:
    """Probabilities over 4 quarter turns, as the app classifies."""
    mean = torch.tensor(policy.mean).view(1, 3, 1, 1)
    std = torch.tensor(policy.std).view(1, 3, 1, 1)
    predicted: list[int] = []
    for start in range(0, len(pixels), 128):
        batch = network_input(pixels[start : start + 128], mean, std)
        views = [batch.rot90(q, dims=(-2, -1)) for q in range(4)]
        predicted += torch.stack([torch.softmax(module(v), 1) for v in views]).mean(0).argmax(1).tolist()
    return Evaluation.from_pairs(classes, list(zip(truths, predicted, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, nargs="+")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    first = load(args.models[0])
    policy, classes = first.info.networks[0].policy, first.info.classes
    test = sorted((BLOOD_CELLS / "TEST").glob("*/*.jpeg"))
    truths = [ground_truth(path, BLOOD_CELLS / "TEST", classes) for path in test]
    pool = [path for path in sorted(PBC.glob("*/*.jpeg")) if not is_held_out(path)]
    reference = framed([pool[i] for i in rng.choice(len(pool), 400, replace=False)], policy)
    test_pixels = framed(test, policy)
    variants = {"as trained": test_pixels}
    for space in SPACES:
        statistics = [channel_statistics(to_space(picture, space)) for picture in reference]
        mean, spread = np.mean([m for m, _ in statistics], 0), np.mean([s for _, s in statistics], 0)
        variants[f"{space} moved"] = np.stack([moved(picture, space, mean, spread) for picture in test_pixels])
    for path in args.models:
        module = load(path).module.eval()
        for name, pixels in variants.items():
            evaluation = score(module, policy, pixels, truths, classes)
            row = {
                "model": path.name,
                "colour": name,
                "accuracy": evaluation.accuracy,
                "balanced_accuracy": evaluation.balanced_accuracy,
                "macro_f1": evaluation.macro_f1,
                "confusion": evaluation.confusion.tolist(),
            }
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
