"""Probe: how a model copes with another lab's magnification (an out-of-distribution proxy).

Another lab's microscope and camera show cells larger or smaller in the frame. This rescales each
picture of `pbc/`'s held-out 20 % (never trained on) about its centre by a factor, keeping the
frame's size: above 1 it is enlarged and cropped (a higher magnification), below 1 it is shrunk
and the border filled by mirroring the picture (a smear goes on beyond the frame). Each model
classifies every version end to end (locating the cell, framing, its test-time views);
the figures are balanced accuracy and macro-F1 per factor, and for a model with unfamiliar-image
statistics the share it flags and how right it is on what it accepts without review. Nothing is
retrained; changes nothing.

    python -m research.probe_magnification MODEL [MODEL ...] [--factors 0.5 0.67 ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from PIL import Image

from bench.proxy_labs import magnified
from model.evaluation.evaluate import evaluate_folder
from model.modelfile.opening import open_classifier
from model.training.holdout import is_held_out
from tools.dev_data import PBC

FACTORS = (0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0)


def write_versions(scratch: Path, factors: tuple[float, ...]) -> dict[float, Path]:
    folders = {factor: scratch / f"x{factor}" for factor in factors}
    for path in sorted(PBC.glob("*/*.jpeg")):
        if not is_held_out(path):
            continue
        image = Image.open(path).convert("RGB")
        for factor, folder in folders.items():
            target = folder / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            magnified(image, factor).save(target, quality=95)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--factors", type=float, nargs="+", default=list(FACTORS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bloodcell-magnification-") as scratch:
        folders = write_versions(Path(scratch), tuple(args.factors))
        for model in args.models:
            classifier = open_classifier(model)
            for factor, folder in folders.items():
                evaluation = evaluate_folder(classifier, folder)
                rows.append({"model": str(model), "factor": factor, **evaluation.to_json()})  # evaluate's schema
                words = "; ".join(evaluation.acceptance_lines()) if evaluation.flagged is not None else ""
                print(
                    f"{model.name}  x{factor:<5}  balanced {evaluation.balanced_accuracy:.2%}  "
                    f"macro-F1 {evaluation.macro_f1:.3f}  ({evaluation.total} images)  {words}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
