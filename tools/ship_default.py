"""Make a chosen candidate the shipped default model.

Nothing here chooses: run it only for the candidate a registered rule chose
(research/notes/recipe-search-*). It measures, once, the candidate's figures on each lab's test cells
(`blood-cells/TEST`, and `pbc/`'s held-out 20 %, the share the file's own settings set aside by
name and never trained on), records them in the file, names it and writes it with its ONNX graphs
and unfamiliar-image statistics to resources/default_model.safetensors.

    python -m tools.ship_default out/two-lab/seed-stain-both-s1-cal.safetensors --name "..." --notes "..."
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from model.common.resources import default_model_path
from model.evaluation.evaluate import evaluate_folder
from model.modelfile.opening import open_classifier
from model.modelfile.torch_file import load, save
from model.training.holdout import is_held_out
from tools.dev_data import BLOOD_CELLS, PBC

PBC_HELD_OUT = "pbc held-out 20 %"


def held_out_tree(source: Path, percent: int, target: Path) -> Path:
    """A class-per-folder tree of links to `source`'s held-out share."""
    for path in sorted(source.glob("*/*")):
        if is_held_out(path, percent):
            (target / path.parent.name).mkdir(parents=True, exist_ok=True)
            (target / path.parent.name / path.name).symlink_to(path)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--notes", required=True, help="how it was made and chosen")
    parser.add_argument("--out", type=Path, default=default_model_path())
    args = parser.parse_args()
    loaded = load(args.candidate)
    if loaded.references is None:
        raise SystemExit(f"{args.candidate} has no unfamiliar-image statistics: calibrate it first")
    percent = loaded.info.networks[0].training["settings"]["holdout_percent"]
    classifier = open_classifier(loaded, "cpu")
    with tempfile.TemporaryDirectory() as scratch:
        sets = {"test": BLOOD_CELLS / "TEST", PBC_HELD_OUT: held_out_tree(PBC, percent, Path(scratch))}
        for label, folder in sets.items():
            evaluation = evaluate_folder(classifier, folder)
            print(f"{label}:\n{evaluation.format_table()}\n", flush=True)
            folder_name = (
                str(folder) if label == "test" else f"{PBC} (held out by name: model.training.holdout, {percent} %)"
            )
            loaded.info.metrics[label] = {"folder": folder_name, **evaluation.to_json()}
    loaded.info.name = args.name
    loaded.info.notes = args.notes
    save(args.out, loaded.module, loaded.info, references=loaded.references)
    print(f"saved {args.out} ({args.out.stat().st_size / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
