"""What the probes share: framed pictures classified as the app classifies them.

The product's own path (`open_classifier` chooses the backend as the app does; the classifier's
`outputs`: each network's test-time views, softmax averaged over the views and then the
networks), so that a probe's figure is the figure the app would give on the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.evaluation.evaluate import Evaluation
from model.fileformat.header import LoadedModel
from model.images.preprocess import InputPolicy
from model.inference.classifier import decode_image
from model.modelfile.opening import open_classifier

BATCH_SIZE = 128


def framed(paths: Sequence[Path], policies: Sequence[InputPolicy]) -> tuple[list[Path], list[np.ndarray]]:
    """The pictures that decode, and one NHWC uint8 stack of them per input policy."""
    kept, pixels = [], [[] for _ in policies]
    for path in paths:
        decoded = decode_image(path, list(policies))
        if isinstance(decoded, str):
            continue
        kept.append(path)
        for stack, picture in zip(pixels, decoded.pixels, strict=True):
            stack.append(picture)
    return kept, [np.stack(stack) for stack in pixels]


def predicted(loaded: LoadedModel, stacks: Sequence[np.ndarray]) -> list[int]:
    """The top class of each picture, one stack per network (each in its own frame)."""
    classifier = open_classifier(loaded, "cpu")
    answers: list[int] = []
    for start in range(0, len(stacks[0]), BATCH_SIZE):
        outputs = classifier.outputs([stack[start : start + BATCH_SIZE] for stack in stacks])
        answers += outputs.probabilities.argmax(1).tolist()
    return answers


def scored(loaded: LoadedModel, stacks: Sequence[np.ndarray], truths: Sequence[int]) -> Evaluation:
    return Evaluation.from_pairs(loaded.info.classes, list(zip(truths, predicted(loaded, stacks), strict=True)))
