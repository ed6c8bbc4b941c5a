"""End-to-end classification on ONNX Runtime against torch, same model, same files, one run.

Classifies all of TEST (2,487 images) with the default model through the same pipeline
(decoding, cell locating, framing, the 4 test-time views of each of its networks, the
unfamiliar-image score) on each backend, alternating them `--rounds` times so that both see the
same machine load, and prints images/s and the ratio (target >= 1.5x, aim 2x). It also checks
that both gave the same classes, and reports the largest probability difference.

    .venv/bin/python -m bench.onnx_vs_torch [--rounds 2] [--limit N]
"""

from __future__ import annotations

import statistics

import numpy as np

from bench._common import image_files, parser, report, timed
from model.modelfile.opening import open_classifier


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--rounds", type=int, default=2)
    arguments.add_argument("--limit", type=int, default=0, help="only the first N images (0: all of TEST)")
    args = arguments.parse_args()
    files = image_files(args.data / "TEST")
    files = files[: args.limit] if args.limit else files
    classifiers = {backend: open_classifier(args.model, "cpu", backend=backend) for backend in ("torch", "onnx")}
    answers: dict[str, list] = {}
    seconds: dict[str, list[float]] = {backend: [] for backend in classifiers}

    def run(backend: str) -> None:
        answers[backend] = list(classifiers[backend].classify(files))

    for _ in range(args.rounds):
        for backend in classifiers:
            seconds[backend].append(timed(lambda backend=backend: run(backend)))
    rates = {backend: len(files) / statistics.median(times) for backend, times in seconds.items()}
    print(f"{len(files)} images, default model ({classifiers['onnx'].info.name}), median of {args.rounds} rounds")
    for backend, classifier in classifiers.items():
        report(f"{classifier.backend.describe()} ({backend})", rates[backend], "img/s")
    print(f"{'ONNX Runtime / torch':<48} {rates['onnx'] / rates['torch']:10.2f} x")
    by_torch, by_onnx = answers["torch"], answers["onnx"]
    same = sum(a.predicted_index == b.predicted_index for a, b in zip(by_torch, by_onnx, strict=True))
    difference = max(
        float(np.abs(np.array(a.probabilities) - b.probabilities).max()) for a, b in zip(by_torch, by_onnx, strict=True)
    )
    print(f"same class for {same} of {len(files)} images; largest probability difference {difference:.1e}")


if __name__ == "__main__":
    main()
