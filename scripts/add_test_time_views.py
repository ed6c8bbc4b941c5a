"""Give an existing model file test-time augmentation and re-measure it on a test folder:
`python scripts/add_test_time_views.py MODEL TEST_FOLDER`.

The weights are not touched. The file gets the view set its training augmentation covered
(model.symmetry), its test metrics are replaced by the new measurement, and its notes say
so; it is rewritten atomically. Models trained since test-time augmentation existed record
it at training time and do not need this.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from model.evaluate import evaluate_folder
from model.infer import Classifier
from model.modelfile import LoadedModel, load, save
from model.symmetry import NONE, VIEW_SETS, trained_symmetries


def main(model_path: Path, test_folder: Path) -> None:
    loaded = load(model_path)
    info = loaded.info
    if info.is_ensemble:
        sys.exit(f"{model_path} is an ensemble: give its member files their views, then combine them again")
    if info.test_time_views != NONE:
        sys.exit(f"{model_path} already classifies with test-time augmentation ({info.test_time_views})")
    flip_vert = bool(info.training.get("settings", {}).get("augmentation", {}).get("flip_vert", False))
    views = trained_symmetries(flip_vert, info.policy.width, info.policy.height)
    info = replace(info, test_time_views=views)
    evaluation = evaluate_folder(Classifier(LoadedModel(loaded.module, info, loaded.path)), test_folder)
    print(f"{model_path}: now {VIEW_SETS[views]}")
    print(evaluation.format_table())
    before = (info.metrics.get("test") or {}).get("accuracy")
    stamp = datetime.now(UTC).date().isoformat()
    note = f"Test-time augmentation ({views}) added on {stamp}, weights unchanged"
    if before is not None:
        note += f"; test accuracy with one view was {before:.2%}"
    info = replace(
        info,
        notes=f"{info.notes} {note}.".strip(),
        metrics={**info.metrics, "test": {"folder": str(test_folder), **evaluation.to_json()}},
    )
    save(model_path, loaded.module, info)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
