"""How well the unfamiliar-image score separates what a model knows from what it does not, and
what it costs.

For each proxy set: AUROC against the in-distribution images (1.0: every unfamiliar image scores
above every familiar one) for each score alone (feature distance, energy, 1 - max softmax) and the
combined one the app uses, and the share flagged (gates included) at the model's threshold.
Proxy sets: pictures that are not leukocytes (tools/unfamiliar_proxies.py), and any folders given
with --other (another lab, a class left out of training). Then the cost: classification of the
in-distribution images with the score against the same model without its statistics, in one run.

    python -m bench.unfamiliar_scores --model M.safetensors --familiar TEST pbc-held-out \
        --other left-out-class=FOLDER
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench._common import image_files, parser


def auroc(familiar: np.ndarray, unfamiliar: np.ndarray) -> float:
    """The probability that an unfamiliar image scores above a familiar one (ties half)."""
    values = np.concatenate([familiar, unfamiliar])
    ranks = values.argsort().argsort().astype(float) + 1
    for value in np.unique(values):  # average ranks of ties
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    above = ranks[len(familiar) :].sum() - len(unfamiliar) * (len(unfamiliar) + 1) / 2
    return float(above / (len(familiar) * len(unfamiliar)))


def scores(classifier, files: list[Path]) -> dict[str, np.ndarray]:
    parts: dict[str, list] = {"distance": [], "energy": [], "combined": [], "softmax": [], "flagged": []}

    def keep(paths, outputs) -> None:
        for name, values in classifier.references.parts(outputs.features, outputs.logits).items():
            parts[name].extend(values.tolist())
        parts["softmax"].extend((1 - outputs.probabilities.max(1)).tolist())

    for result in classifier.classify(files, on_outputs=keep):
        if result.ok:
            parts["flagged"].append(classifier.unidentified(result) is not None)
    return {name: np.asarray(values, dtype=float) for name, values in parts.items()}


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--familiar", type=Path, nargs="+", required=True, help="in-distribution folders")
    p.add_argument("--other", nargs="*", default=[], help="NAME=FOLDER: more unfamiliar sets")
    p.add_argument("--limit", type=int, default=1500, help="at most this many images of a set (seeded draw)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    from model.modelfile.opening import open_classifier
    from model.modelfile.torch_file import load
    from tools.unfamiliar_proxies import write_proxies

    loaded = load(args.model)
    if loaded.references is None:
        print(f"{args.model} has no unfamiliar-image statistics; run `bloodcell calibrate` first")
        return 2
    classifier = open_classifier(loaded, "cpu")
    rng = np.random.default_rng(0)

    def drawn(files: list[Path]) -> list[Path]:
        return files if len(files) <= args.limit else sorted(rng.choice(files, args.limit, replace=False))

    familiar_files = drawn([f for folder in args.familiar for f in image_files(folder)])
    familiar = scores(classifier, familiar_files)
    results = {
        "model": str(args.model),
        "familiar": {"images": len(familiar_files), "flagged": float(familiar["flagged"].mean())},
        "sets": {},
    }
    print(f"familiar ({len(familiar_files)} images): flagged {familiar['flagged'].mean():.1%}")
    with tempfile.TemporaryDirectory() as scratch:
        sets = {"not-leukocytes": write_proxies(Path(scratch) / "proxies")}
        for entry in args.other:
            name, folder = entry.split("=", 1)
            sets[name] = drawn(image_files(Path(folder)))
        for name, files in sets.items():
            other = scores(classifier, files)
            row = {"images": len(files), "flagged": float(other["flagged"].mean())}
            row |= {f"auroc_{k}": auroc(familiar[k], other[k]) for k in ("distance", "energy", "softmax", "combined")}
            results["sets"][name] = row
            print(
                f"{name} ({len(files)} images): flagged {row['flagged']:.1%}; AUROC "
                + ", ".join(f"{k[6:]} {v:.3f}" for k, v in row.items() if k.startswith("auroc_"))
            )
    # The cost, in one run: the same files with and without the statistics, alternating.
    plain = open_classifier(replace(loaded, references=None), "cpu")
    files = familiar_files[:600]
    times = {"with": [], "without": []}
    for _ in range(2):
        for name, engine in (("without", plain), ("with", classifier)):
            started = time.perf_counter()
            for _ in engine.classify(files):
                pass
            times[name].append(time.perf_counter() - started)
    ratio = min(times["with"]) / min(times["without"])
    results["time_ratio_with_score"] = ratio
    print(f"classification time with the score / without: {ratio:.3f} ({len(files)} images, best of 2)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
