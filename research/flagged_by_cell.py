"""Where a model's unfamiliar-image flags on `blood-cells/TEST` fall, and whether its validation
cells were new cells.

TEST holds about 35 augmented copies of each of its 71 cells, drawn evenly per class, so its 4
monocytes have about 155 copies each and its 48 neutrophils about 13: a share of TEST's images
weighs a monocyte twelve times a neutrophil. A lab meets each cell once. This prints the flagged
share (and the accuracy) by image, by class, and by cell (each image weighted by its class's cells over its class's
images, the originals per class from the data README), and on TEST_SIMPLE (those 71 cells, one
picture each).

Then the split check: for the blood-cells images of the model's own validation split (remade from
the settings the file records), the signature distance to the nearest image it trained on, beside
the same for TEST's images, which are other cells. If validation cells had copies of themselves
in training, their distances would sit well below TEST's.

    python -m research.flagged_by_cell [MODEL]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from model.common.resources import default_model_path
from model.common.task import TaskState
from model.images.near_duplicates import COPY_DISTANCE, nearest_distances, signatures
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import load
from model.training.calibrate import training_split
from tools.dev_data import BLOOD_CELLS

# Originals per class in TEST (../shared/data/README.md).
TEST_CELLS = {"EOSINOPHIL": 13, "LYMPHOCYTE": 6, "MONOCYTE": 4, "NEUTROPHIL": 48}


def flags(classifier, files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(flagged, correct) per readable file, in `files` order."""
    results = {result.path: result for result in classifier.classify(files)}
    kept = [results[path] for path in files if results[path].ok]
    flagged = np.array([classifier.unidentified(result) is not None for result in kept])
    correct = np.array([classifier.classes[result.predicted_index] == result.path.parent.name for result in kept])
    return flagged, correct


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, nargs="?", default=default_model_path())
    args = parser.parse_args()
    loaded = load(args.model)
    classifier = open_classifier(loaded, "cpu")
    if classifier.threshold() is None:
        parser.error(f"{args.model} has no unfamiliar-image statistics")

    test = sorted((BLOOD_CELLS / "TEST").glob("*/*.jpeg"))
    flagged, correct = flags(classifier, test)
    classes = np.array([path.parent.name for path in test])
    weights = np.array([TEST_CELLS[name] / (classes == name).sum() for name in classes])
    by_cell = (weights * flagged).sum() / weights.sum()
    print(f"TEST: {flagged.mean():.1%} of {len(test)} images flagged; by cell {by_cell:.1%}")
    print(f"TEST: {correct.mean():.2%} correct by image; by cell {(weights * correct).sum() / weights.sum():.2%}")
    for name in TEST_CELLS:
        mine = classes == name
        print(
            f"  {name}: {flagged[mine].mean():.1%} of {mine.sum()} images flagged "
            f"({(flagged & correct)[mine].sum()} of them classified correctly)"
        )
    simple = sorted((BLOOD_CELLS / "TEST_SIMPLE").glob("*/*.jpeg"))
    simple_flagged, simple_correct = flags(classifier, simple)
    print(
        f"TEST_SIMPLE (one picture per cell): {simple_flagged.sum()} of {len(simple)} flagged "
        f"({simple_flagged.mean():.1%}), {simple_correct.sum()} correct"
    )

    settings = loaded.info.networks[0].training.get("settings")
    if not settings:
        print("the file records no training settings: no split to check")
        return 0
    train_items, valid_items = training_split(settings, TaskState())
    in_blood_cells = [Path(item.path) for item in train_items if BLOOD_CELLS in Path(item.path).parents]
    valid = [Path(item.path) for item in valid_items if BLOOD_CELLS in Path(item.path).parents]
    trained = signatures(in_blood_cells)
    for name, files in (("validation", valid), ("TEST (other cells)", test[::5])):
        distances = nearest_distances(signatures(files), trained)
        quartiles = ", ".join(f"{q:.3f}" for q in np.percentile(distances, [25, 50, 75]))
        print(
            f"{name}: {len(files)} images, nearest trained-on image at quartiles {quartiles}; "
            f"{(distances < COPY_DISTANCE).mean():.1%} within the copy distance {COPY_DISTANCE}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
