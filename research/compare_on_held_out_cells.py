"""Compare models on the cells that `bloodcell train --split-by-cell` held out of training.

Rebuilds the same split of DATA (same cell groups, share and seed), classifies the held-out
images with each model as it ships (its framing, size and test-time views), and prints their
accuracy, log loss and confusion; with --average also the average of all the models, which is
what `bloodcell combine` of them would give. This is how recipes are chosen without looking at
a test set. Every model must have been trained with that split, or it has seen these cells.

    python -m research.compare_on_held_out_cells ../shared/data/blood-cells/TRAIN A.safetensors B.safetensors --average
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from model.images.near_duplicates import cell_groups
from model.images.scan import DatasetScan, scan_dataset
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import read_info
from model.training.splits import split_whole_groups


def held_out_images(scan: DatasetScan, valid_pct: float, seed: int) -> tuple[list[Path], np.ndarray, list[str], int]:
    """The held-out paths, their class indices, the class names and how many cells they show."""
    paths = [path for path, _ in scan.files]
    labels = [label for _, label in scan.files]
    groups = cell_groups(paths)
    held_out = split_whole_groups(groups, labels, valid_pct, seed)
    truth = np.array([scan.classes.index(labels[i]) for i in held_out])
    return [paths[i] for i in held_out], truth, scan.classes, len(np.unique(groups[held_out]))


def trained_on_this_split(path: Path, scan: DatasetScan, valid_pct: float, seed: int) -> bool:
    """Whether the model was trained with this split of this data: the same split settings, and
    training data with the same images per class (its folder may have been named differently)."""
    training = read_info(path).training
    settings = training.get("settings", {})
    return (
        training.get("data", {}).get("train", {}).get("counts") == scan.counts
        and bool(settings.get("split_by_cell"))
        and settings.get("valid") is None
        and settings.get("valid_pct") == valid_pct
        and settings.get("seed") == seed
    )


def report(name: str, probabilities: np.ndarray, truth: np.ndarray) -> None:
    predicted = probabilities.argmax(axis=1)
    log_loss = -np.log(probabilities[np.arange(len(truth)), truth] + 1e-9).mean()
    confusion = np.zeros((probabilities.shape[1],) * 2, dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    errors = int((predicted != truth).sum())
    print(f"{name}\n  accuracy {np.mean(predicted == truth):.2%}  log loss {log_loss:.4f}  errors {errors}")
    print("  confusion (rows true):", " | ".join(" ".join(f"{n:4d}" for n in row) for row in confusion))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the training folder the models were trained on")
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--valid-pct", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--average", action="store_true", help="also score the average of all the models")
    args = parser.parse_args()
    scan = scan_dataset(args.data)
    for path in args.models:
        if not trained_on_this_split(path, scan, args.valid_pct, args.seed):
            print(
                f"{path} was not trained on {args.data} with --split-by-cell --valid-pct {args.valid_pct} "
                f"--seed {args.seed}"
            )
            return 2
    print("grouping copies of each cell ...", flush=True)
    paths, truth, classes, cells = held_out_images(scan, args.valid_pct, args.seed)
    print(f"{len(paths)} held-out images of {cells} cells")
    everyone = []
    for path in args.models:
        classifier = open_classifier(path, "cpu")
        if classifier.classes != classes:
            print(f"{path}: classes {classifier.classes} differ from the data's {classes}")
            return 2
        results = list(classifier.classify(paths))
        failed = [r for r in results if not r.ok]
        if failed:
            print(f"{path}: {len(failed)} held-out images could not be read, e.g. {failed[0].path}: {failed[0].error}")
            return 1
        everyone.append(np.array([r.probabilities for r in results]))
        report(f"{path} ({classifier.info.test_time_views} views)", everyone[-1], truth)
    if args.average and len(everyone) > 1:
        report("average of all", np.mean(everyone, axis=0), truth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
