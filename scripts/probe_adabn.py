"""Probe: does re-estimating BatchNorm statistics on the other lab's images (AdaBN, no labels)
carry a leave-one-lab-out model across labs?

A network trained on one lab keeps that lab's BatchNorm means and variances; the literature's
"frozen statistics" variants use the new lab's own. This takes a saved leave-one-lab-out model
(scripts/leave_one_lab_out.py --save), recomputes every BatchNorm's statistics from unlabelled
images of the target lab that are NOT the scored ones (`model.lab_statistics.match_lab`, the step
behind `bloodcell match-lab`), and scores it as before:

- bc-to-pbc: statistics from pbc/'s training 80 % (no labels used), scored on pbc/'s held-out 20 %
  and on all of pbc/;
- pbc-to-bc: statistics from blood-cells/TRAIN (a few copies of each cell), scored on
  blood-cells/TEST;
- (an ensemble, such as the shipped default, has each network re-estimated with its own input
  policy, and their probabilities averaged)
- bc-own: for a model trained on both labs, statistics from blood-cells/TRAIN alone (one lab's
  own statistics instead of the two labs' mixed ones), scored on blood-cells/TEST.

    python scripts/probe_adabn.py out/lolo/models/lite0-stain-bc-to-pbc-s1.safetensors --direction bc-to-pbc
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from model.dev_data import BLOOD_CELLS, PBC
from model.evaluate import Evaluation
from model.ground_truth import ground_truth
from model.holdout import is_held_out
from model.infer import decode_image
from model.lab_statistics import match_lab
from model.modelfile import load
from model.task import TaskState
from model.torch_backend import network_input


def image_batches(paths: list[Path], policy, batch_size: int = 64):
    mean = torch.tensor(policy.mean).view(1, 3, 1, 1)
    std = torch.tensor(policy.std).view(1, 3, 1, 1)
    for start in range(0, len(paths), batch_size):
        decoded = [decode_image(path, [policy]) for path in paths[start : start + batch_size]]
        pixels = np.stack([d.pixels[0] for d in decoded if not isinstance(d, str)])
        yield network_input(pixels, mean, std)


@torch.no_grad()
def score(
    networks: list[tuple[torch.nn.Module, object]], paths: list[Path], root: Path, classes: list[str]
) -> Evaluation:
    """Each network's probabilities over 4 quarter turns, averaged over the networks (each with
    its own input policy), as the app classifies."""
    pairs = []
    for start in range(0, len(paths), 64):
        chunk = paths[start : start + 64]
        probabilities = 0
        for module, policy in networks:
            batch = next(image_batches(chunk, policy, len(chunk)))
            views = [batch.rot90(q, dims=(-2, -1)) for q in range(4)]
            probabilities = probabilities + torch.stack([torch.softmax(module(v), 1) for v in views]).mean(0)
        for path, predicted in zip(chunk, probabilities.argmax(1).tolist(), strict=True):
            pairs.append((ground_truth(path, root, classes), predicted))
    return Evaluation.from_pairs(classes, pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("--direction", choices=["bc-to-pbc", "pbc-to-bc", "bc-own"], required=True)
    parser.add_argument("--statistics-images", type=int, default=1600)
    parser.add_argument("--results", type=Path, default=Path("out/lolo/adabn.jsonl"))
    args = parser.parse_args()
    torch.manual_seed(0)
    loaded = load(args.model)
    info = loaded.info
    classes = info.classes
    modules = list(loaded.module) if info.is_ensemble else [loaded.module]
    networks = [(module.eval(), member.policy) for module, member in zip(modules, info.networks, strict=True)]
    rng = np.random.default_rng(0)
    if args.direction == "bc-to-pbc":
        target = sorted(PBC.glob("*/*.jpeg"))
        pool = [p for p in target if not is_held_out(p)]
        scored = {"pbc_held_out": [p for p in target if is_held_out(p)], "pbc_all": target}
        root = PBC
    else:
        pool = sorted((BLOOD_CELLS / "TRAIN").glob("*/*.jpeg"))
        scored = {"bc_test": sorted((BLOOD_CELLS / "TEST").glob("*/*.jpeg"))}
        root = BLOOD_CELLS / "TEST"
    statistics = [pool[i] for i in sorted(rng.choice(len(pool), min(args.statistics_images, len(pool)), replace=False))]
    row = {"model": str(args.model), "direction": args.direction, "statistics_images": len(statistics)}
    for label, adapt in (("as_trained", False), ("adabn", True)):
        started = time.monotonic()
        if adapt:  # the product's own step (bloodcell match-lab), on the target lab's unlabelled images
            matched = match_lab(loaded, "probe", statistics, TaskState()).model
            modules = list(matched.module) if info.is_ensemble else [matched.module]
            networks = [(module.eval(), member.policy) for module, member in zip(modules, info.networks, strict=True)]
        for name, paths in scored.items():
            if name == "pbc_all" and not adapt:
                continue
            evaluation = score(networks, paths, root, classes)
            row[f"{label}.{name}"] = {
                "accuracy": evaluation.accuracy,
                "balanced_accuracy": evaluation.balanced_accuracy,
                "macro_f1": evaluation.macro_f1,
                "confusion": evaluation.confusion.tolist(),
            }
            print(f"{label} {name}: {evaluation.format_table()}", flush=True)
        row[f"{label}.minutes"] = round((time.monotonic() - started) / 60, 1)
    print(json.dumps(row), flush=True)
    with open(args.results, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
