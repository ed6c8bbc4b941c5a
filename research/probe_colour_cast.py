"""Probe: is a pbc-to-bc network's failure on blood-cells TEST the other lab's colour cast?

Scores saved single pbc-to-bc networks (research/leave_one_lab_out.py --save) on TEST as they are, and
again with each framed picture's colours first moved to the training lab's average: each
channel's mean and spread set to those of 400 of `pbc/`'s training pictures, in RGB or in CIE-Lab
(Reinhard's transfer). Nothing is retrained; no TEST label is used except to score.

    python -m research.probe_colour_cast out/lolo/models/seed-instance-stain-pbc-to-bc-s1.safetensors ...
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from skimage.color import lab2rgb, rgb2lab

from model.evaluation.ground_truth import ground_truth
from model.modelfile.torch_file import load
from model.training.holdout import is_held_out
from research.probe_scoring import framed, scored
from tools.dev_data import BLOOD_CELLS, PBC

SPACES = ("rgb", "lab")


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, nargs="+")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    first = load(args.models[0])
    policy, classes = first.info.networks[0].policy, first.info.classes
    test = sorted((BLOOD_CELLS / "TEST").glob("*/*.jpeg"))
    pool = [path for path in sorted(PBC.glob("*/*.jpeg")) if not is_held_out(path)]
    reference = framed([pool[i] for i in rng.choice(len(pool), 400, replace=False)], [policy])[1][0]
    test, (test_pixels,) = framed(test, [policy])
    truths = [ground_truth(path, BLOOD_CELLS / "TEST", classes) for path in test]
    variants = {"as trained": test_pixels}
    for space in SPACES:
        statistics = [channel_statistics(to_space(picture, space)) for picture in reference]
        mean, spread = np.mean([m for m, _ in statistics], 0), np.mean([s for _, s in statistics], 0)
        variants[f"{space} moved"] = np.stack([moved(picture, space, mean, spread) for picture in test_pixels])
    for path in args.models:
        loaded = load(path)
        for name, pixels in variants.items():
            row = {"model": path.name, "colour": name} | scored(loaded, [pixels], truths).to_json()
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
