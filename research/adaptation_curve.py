"""The adaptation learning curve: a model fine-tuned on n verified cells per class of another lab.

Cells are drawn (seeded, several draws per n) from pbc/ less its fixed held-out 20 %
(`model.training.holdout`); every adapted model, and the parent, is scored on that held-out 20 %, which
none of the draws touches. Nothing is held back from the drawn cells (`held_back_share` 0):
the held-out 20 % is the comparison. One JSON line per run goes to --results.

    python -m research.adaptation_curve --model resources/default_model.safetensors \
        --sizes 5 10 25 50 --draws 3 --results out/curve/default.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

from model.adaptation.finetune import adapt, evaluation_summary, score
from model.adaptation.settings import FinetuneSettings
from model.common.hashing import file_sha256
from model.common.task import TaskState
from model.images.scan import scan_dataset
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import load
from model.review.verified import VerifiedCell
from model.training.holdout import is_held_out
from tools.dev_data import DATA_ROOT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--lab", type=Path, default=DATA_ROOT / "pbc")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 25, 50])
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=FinetuneSettings.epochs)
    parser.add_argument("--frozen-epochs", type=int, default=FinetuneSettings.frozen_epochs)
    parser.add_argument("--lr", type=float, default=FinetuneSettings.lr)
    parser.add_argument(
        "--tune",
        action="store_true",
        help="score on 150 cells per class of the pool (never drawn) instead of the held-out 20 %%: for choosing "
        "settings without looking at the held-out part",
    )
    args = parser.parse_args()

    parent = load(args.model)
    parent_sha256 = file_sha256(args.model)
    files = scan_dataset(args.lab, verify=False).files
    held_out = [VerifiedCell(path, label) for path, label in files if is_held_out(path)]
    pool = [VerifiedCell(path, label) for path, label in files if not is_held_out(path)]
    by_class: dict[str, list[VerifiedCell]] = {}
    for cell in pool:
        by_class.setdefault(cell.label, []).append(cell)
    if args.tune:
        rng = random.Random("tuning")
        held_out = []
        for label in sorted(by_class):
            rng.shuffle(by_class[label])
            held_out += by_class[label][:150]
            by_class[label] = by_class[label][150:]
    state = TaskState()
    settings = FinetuneSettings(epochs=args.epochs, frozen_epochs=args.frozen_epochs, lr=args.lr, held_back_share=0)
    args.results.parent.mkdir(parents=True, exist_ok=True)

    def record(row: dict) -> None:
        print(json.dumps(row), flush=True)
        with args.results.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(row) + "\n")

    started = time.monotonic()
    parent_score = score(open_classifier(parent), held_out, state)
    record(
        {
            "model": args.model.name,
            "cells_per_class": 0,
            "draw": None,
            **evaluation_summary(parent_score),
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    for size in args.sizes:
        for draw in range(args.draws):
            rng = random.Random(f"{size}-{draw}")
            cells = [cell for label in sorted(by_class) for cell in rng.sample(by_class[label], size)]
            started = time.monotonic()
            adaptation = adapt(parent, parent_sha256, cells, replace(settings, seed=draw), state)
            tuned = time.monotonic() - started
            after = score(open_classifier(adaptation.model), held_out, state)
            record(
                {
                    "model": args.model.name,
                    "cells_per_class": size,
                    "draw": draw,
                    **evaluation_summary(after),
                    "finetune_seconds": round(tuned, 1),
                    "settings": settings.to_json() | {"seed": draw},
                }
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
