"""Give an existing model file test-time augmentation, or another view set:
`python -m research.add_test_time_views MODEL [TEST_FOLDER] [--views VIEWS]`.

The weights are not touched. The file gets the view set its training augmentation covered
(model.images.symmetry), or VIEWS; its test metrics are replaced by a new measurement on
TEST_FOLDER, or dropped without one (they described the model with its old views); its notes
say so. The file is rewritten atomically. Models trained since test-time augmentation existed
record it at training time; they need this only to trade views for speed (fewer views, fewer
forward passes), which takes an explicit --views.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from model.evaluation.evaluate import evaluate_folder
from model.images.symmetry import NONE, VIEW_SETS, check_views, trained_symmetries
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import LoadedModel, load, save


def main(model_path: Path, test_folder: Path | None, views: str | None) -> None:
    loaded = load(model_path)
    info = loaded.info
    if info.is_ensemble:
        sys.exit(f"{model_path} is an ensemble: give its member files their views, then combine them again")
    old_views = info.test_time_views
    if old_views != NONE and views is None:
        sys.exit(f"{model_path} already classifies with {VIEW_SETS[old_views]}: name --views to change that")
    if views is None:
        flip_vert = bool(info.training.get("settings", {}).get("augmentation", {}).get("flip_vert", False))
        views = trained_symmetries(flip_vert, info.policy.width, info.policy.height)
    info = replace(info, test_time_views=check_views(views))
    print(f"{model_path}: now {VIEW_SETS[views]}")
    before = (info.metrics.get("test") or {}).get("accuracy")
    today = datetime.now(UTC).date().isoformat()
    note = f"Test-time views set to {views} (were {old_views}) on {today}, weights unchanged"
    if before is not None:
        note += f"; test accuracy when it classified with {VIEW_SETS[old_views]} was {before:.2%}"
    metrics = {k: v for k, v in info.metrics.items() if k != "test"}
    if test_folder is not None:
        evaluation = evaluate_folder(open_classifier(LoadedModel(loaded.module, info, loaded.path)), test_folder)
        print(evaluation.format_table())
        metrics["test"] = {"folder": str(test_folder), **evaluation.to_json()}
    save(model_path, loaded.module, replace(info, notes=f"{info.notes} {note}.".strip(), metrics=metrics))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("test_folder", type=Path, nargs="?")
    parser.add_argument("--views", choices=list(VIEW_SETS), help="default: what training augmentation covered")
    args = parser.parse_args()
    main(args.model, args.test_folder, args.views)
