"""Leave one lab out: train a recipe on one source, score it on the other one.

The honest stand-in for labs nobody here has images of. Two directions:

- `bc-to-pbc`: train on blood-cells/TRAIN (split by cell, a few copies of each cell), score on
  all of pbc/ (and, separately, on its held-out 20 %);
- `pbc-to-bc`: train on pbc/ less its held-out 20 % (`model.training.holdout`), score on blood-cells/TEST.

Each run prints and appends one JSON line (recipe, seed, direction, accuracy, balanced accuracy,
macro-F1, confusion, minutes) to --results. Recipes are defined below, by name, so that a
results file says exactly what was trained.

    python -m research.leave_one_lab_out --recipe lite0-stain --seed 1 --direction both
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from model.evaluation.ground_truth import ground_truth
from model.training.holdout import is_held_out
from model.training.settings import Augmentation, TrainConfig
from tools.dev_data import DATA_ROOT

DATA = DATA_ROOT

STAIN_ROBUST = Augmentation(
    flip_vert=True,
    max_rotate=180.0,
    min_zoom=0.75,
    max_zoom=1.3,
    max_lighting=0.3,
    max_warp=0.1,
    stain=0.2,
    hue=0.05,
    saturation=0.3,
)
# Twice STAIN_ROBUST's stain range, hue and more saturation: TEST's crops differ from pbc's by
# more than 0.2 of re-mixing reaches (research/probe_colour_cast.py).
STRONG_STAIN = replace(STAIN_ROBUST, stain=0.4, hue=0.1, saturation=0.5)
# STRONG_STAIN and a random colour balance and contrast per picture (model.training.stain.LabColourCast):
# moving TEST's colours to pbc's in Lab lifted a pbc-to-bc network by 10 points
# (research/probe_colour_cast.py), so training over such moves may carry a network further.
STRONG_STAIN_CAST = replace(STRONG_STAIN, colour_cast=10.0)
# STRONG_STAIN_CAST over a wider range of magnifications: the shipped default holds 94-95 %
# balanced on pbc's held-out cells rescaled by 0.8 and 1.25, 79 % at 1.5 and 86 % at 0.67
# (research/probe_magnification.py), the edges of its 0.75-1.3 zoom range.
WIDE_ZOOM = replace(STRONG_STAIN_CAST, min_zoom=0.6, max_zoom=1.7)
# STRONG_STAIN_CAST given to half the training pictures: the other half keep their lab's colours,
# whose cues (an eosinophil's orange granules) the full-strength colour changes blur within a lab.
HALF_CAST = replace(STRONG_STAIN_CAST, colour_share=0.5)
RECIPES: dict[str, TrainConfig] = {
    "seed-stain": TrainConfig(data=Path("."), arch="seed-deep", augmentation=STAIN_ROBUST, epochs=20, lr=4e-3),
    "seed-instance-stain": TrainConfig(
        data=Path("."), arch="seed-deep-instance", augmentation=STAIN_ROBUST, epochs=20, lr=4e-3
    ),
    "seed-instance-strong-stain": TrainConfig(
        data=Path("."), arch="seed-deep-instance", augmentation=STRONG_STAIN, epochs=20, lr=4e-3
    ),
    "seed-instance-strong-cast": TrainConfig(
        data=Path("."), arch="seed-deep-instance", augmentation=STRONG_STAIN_CAST, epochs=20, lr=4e-3
    ),
    "seed-instance-wide-zoom": TrainConfig(
        data=Path("."), arch="seed-deep-instance", augmentation=WIDE_ZOOM, epochs=20, lr=4e-3
    ),
    "seed-instance-half-cast": TrainConfig(
        data=Path("."), arch="seed-deep-instance", augmentation=HALF_CAST, epochs=20, lr=4e-3
    ),
    "seed-group-strong-cast": TrainConfig(
        data=Path("."), arch="seed-deep-group", augmentation=STRONG_STAIN_CAST, epochs=20, lr=4e-3
    ),
    "seed-colour-stain": TrainConfig(
        data=Path("."), arch="seed-deep-instance-colour", augmentation=STAIN_ROBUST, epochs=20, lr=4e-3
    ),
    "lite0-stain": TrainConfig(
        data=Path("."), arch="efficientnet-lite0", augmentation=STAIN_ROBUST, epochs=8, lr=2e-3, batch_size=32
    ),
    "lite0-stain-frozen-bn": TrainConfig(
        data=Path("."),
        arch="efficientnet-lite0",
        augmentation=STAIN_ROBUST,
        epochs=8,
        lr=2e-3,
        batch_size=32,
        frozen_norm_statistics=True,
    ),
    "lite0-plain": TrainConfig(data=Path("."), arch="efficientnet-lite0", epochs=8, lr=2e-3, batch_size=32),
}
# blood-cells/TRAIN holds ~36 augmented copies of each cell: a few of them, augmented online,
# teach as much for a fraction of the time.
COPIES_PER_CELL = 6


def pbc_training_folder(scratch: Path) -> Path:
    """pbc/ without its held-out share, as a tree of links to the files."""
    root = scratch / "pbc-train"
    for path in sorted((DATA / "pbc").glob("*/*.jpeg")):
        if not is_held_out(path):
            target = root / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path.resolve())
    return root


def scores(trained, folder: Path, parts: dict[str, Callable[[Path], bool]]) -> dict[str, dict]:
    """The figures on each part of `folder` (a part: which images it takes), scored as the app scores."""
    from model.evaluation.evaluate import evaluate_labelled
    from model.modelfile.opening import open_classifier

    classifier = open_classifier(trained.loaded(), "cpu")
    figures = {}
    for name, takes in parts.items():
        evaluation = evaluate_labelled(
            classifier,
            [folder],
            lambda path, takes=takes: ground_truth(path, folder, classifier.classes) if takes(path) else None,
        )
        print(f"{name}:\n{evaluation.format_table()}", flush=True)
        figures[name] = evaluation.to_json()
    return figures


def run(recipe: str, seed: int, direction: str, scratch: Path, save_dir: Path | None) -> dict:
    from model.cli.models import TerminalProgress
    from model.training.train import fit

    base = replace(RECIPES[recipe], seed=seed)
    if direction == "bc-to-pbc":
        config = replace(
            base, data=DATA / "blood-cells" / "TRAIN", split_by_cell=True, max_copies_per_cell=COPIES_PER_CELL
        )
    else:
        config = replace(base, data=pbc_training_folder(scratch), valid_pct=0.1)
    started = time.monotonic()
    trained = fit(config, on_event=TerminalProgress())
    minutes = (time.monotonic() - started) / 60
    row = {"recipe": recipe, "seed": seed, "direction": direction, "train_minutes": round(minutes, 1)}
    row["valid"] = trained.valid_metrics
    if direction == "bc-to-pbc":
        row |= scores(trained, DATA / "pbc", {"pbc_all": lambda path: True, "pbc_held_out": is_held_out})
    else:
        row |= scores(trained, DATA / "blood-cells" / "TEST", {"bc_test": lambda path: True})
    if save_dir is not None:
        from model.modelfile.torch_file import save

        save_dir.mkdir(parents=True, exist_ok=True)
        save(save_dir / f"{recipe}-{direction}-s{seed}.safetensors", trained.module, trained.model_info(name=recipe))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=list(RECIPES), required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--direction", choices=["bc-to-pbc", "pbc-to-bc", "both"], default="both")
    parser.add_argument("--results", type=Path, default=Path("out/lolo.jsonl"))
    parser.add_argument("--save", type=Path, help="also save each trained model in this folder")
    args = parser.parse_args()
    directions = ["bc-to-pbc", "pbc-to-bc"] if args.direction == "both" else [args.direction]
    with tempfile.TemporaryDirectory() as scratch:
        for direction in directions:
            row = run(args.recipe, args.seed, direction, Path(scratch), args.save)
            print(json.dumps(row), flush=True)
            args.results.parent.mkdir(parents=True, exist_ok=True)
            with open(args.results, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
