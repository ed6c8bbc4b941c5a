"""Probe: does re-estimating BatchNorm statistics on the other lab's images (AdaBN, no labels)
carry a leave-one-lab-out model across labs?

A network trained on one lab keeps that lab's BatchNorm means and variances; the literature's
"frozen statistics" variants use the new lab's own. This takes a saved leave-one-lab-out model
(research/leave_one_lab_out.py --save), recomputes every BatchNorm's statistics from unlabelled
images of the target lab that are NOT the scored ones (`model.adaptation.lab_statistics.match_lab`, the step
behind `bloodcell match-lab`), and scores it as before:

- bc-to-pbc: statistics from pbc/'s training 80 % (no labels used), scored on pbc/'s held-out 20 %
  and on all of pbc/;
- pbc-to-bc: statistics from blood-cells/TRAIN (a few copies of each cell), scored on
  blood-cells/TEST;
- (an ensemble, such as the shipped default, has each network re-estimated with its own input
  policy, and their probabilities averaged)
- bc-own: for a model trained on both labs, statistics from blood-cells/TRAIN alone (one lab's
  own statistics instead of the two labs' mixed ones), scored on blood-cells/TEST.

    python -m research.probe_adabn out/lolo/models/lite0-stain-bc-to-pbc-s1.safetensors --direction bc-to-pbc
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from model.adaptation.lab_statistics import match_lab
from model.common.task import TaskState
from model.evaluation.ground_truth import ground_truth
from model.modelfile.torch_file import load
from model.training.holdout import is_held_out
from research.probe_scoring import framed, scored
from tools.dev_data import BLOOD_CELLS, PBC


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
    policies = [network.policy for network in info.networks]
    rng = np.random.default_rng(0)
    if args.direction == "bc-to-pbc":
        target = sorted(PBC.glob("*/*.jpeg"))
        pool = [p for p in target if not is_held_out(p)]
        root = PBC
        # Framed once: the held-out 20 % is a selection of all of pbc's rows, not a second reading.
        paths, stacks = framed(target, policies)
        held = np.array([is_held_out(path) for path in paths])
        framed_sets = {
            "pbc_held_out": ([p for p, h in zip(paths, held, strict=True) if h], [stack[held] for stack in stacks]),
            "pbc_all": (paths, stacks),
        }
    else:
        pool = sorted((BLOOD_CELLS / "TRAIN").glob("*/*.jpeg"))
        framed_sets = {"bc_test": framed(sorted((BLOOD_CELLS / "TEST").glob("*/*.jpeg")), policies)}
        root = BLOOD_CELLS / "TEST"
    statistics = [pool[i] for i in sorted(rng.choice(len(pool), min(args.statistics_images, len(pool)), replace=False))]
    row = {"model": str(args.model), "direction": args.direction, "statistics_images": len(statistics)}
    for label, adapt in (("as_trained", False), ("adabn", True)):
        started = time.monotonic()
        # adabn: the product's own step (bloodcell match-lab), on the target lab's unlabelled images
        model = match_lab(loaded, "probe", statistics, TaskState()).model if adapt else loaded
        for name, (paths, stacks) in framed_sets.items():
            if name == "pbc_all" and not adapt:
                continue
            evaluation = scored(model, stacks, [ground_truth(path, root, classes) for path in paths])
            row[f"{label}.{name}"] = evaluation.to_json()
            print(f"{label} {name}: {evaluation.format_table()}", flush=True)
        row[f"{label}.minutes"] = round((time.monotonic() - started) / 60, 1)
    print(json.dumps(row), flush=True)
    with open(args.results, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
