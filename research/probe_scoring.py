"""What the probes share: framed pictures classified as the app classifies them.

The product's own path (`TorchBackend`: BatchNorm folded, each network's test-time views;
`combine_networks`: softmax averaged over the views and then the networks), so that a probe's
figure is the figure the app would give on the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.evaluation.evaluate import Evaluation
from model.fileformat.header import LoadedModel
from model.images.preprocess import InputPolicy
from model.inference.backends.torch_backend import TorchBackend
from model.inference.classifier import combine_networks, decode_image

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
    backend = TorchBackend(loaded, "cpu")
    answers: list[int] = []
    for start in range(0, len(stacks[0]), BATCH_SIZE):
        outputs = combine_networks(backend.run([stack[start : start + BATCH_SIZE] for stack in stacks]))
        answers += outputs.probabilities.argmax(1).tolist()
    return answers


def scored(loaded: LoadedModel, stacks: Sequence[np.ndarray], truths: Sequence[int]) -> Evaluation:
    return Evaluation.from_pairs(loaded.info.classes, list(zip(truths, predicted(loaded, stacks), strict=True)))
