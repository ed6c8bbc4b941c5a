"""Streaming, batched classification of any mix of files and folders.

Images are decoded on a small thread pool (PIL releases the GIL while decoding) one batch
ahead of the network, so decoding overlaps the forward pass, and at most two batches are in
memory however many files there are. An unreadable file becomes an UnreadableImage with its reason.

This pipeline imports no torch: a backend (`model.inference.backends.torch_backend` or
`model.inference.backends.onnx_backend`, chosen by `model.modelfile.opening`) turns prepared
pixels into each network's logits and features, view by view, and everything after that
(softmax, averaging, agreement, unfamiliarity) happens here, once, so that the two backends cannot drift apart.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, Protocol

import numpy as np

from model.common.cores import worker_threads
from model.fileformat.header import LoadedModel, ModelFileError, ModelInfo
from model.images.cell_locator import locate_stained_cell
from model.images.magnification import Magnification, policy_at
from model.images.preprocess import InputPolicy, to_uint8_array
from model.images.reading import ImageError, load_rgb
from model.images.scan import BadFile, expand_inputs
from model.unfamiliar.statistics import ReferenceStatistics, threshold_for, unidentified_reason

NO_VALID_ANSWER = "the model gave no valid answer for this image (NaN or infinite outputs)"


@dataclass(frozen=True)
class ClassifiedImage:
    """An image the model answered: class probabilities, in the model's class order."""

    path: Path
    probabilities: tuple[float, ...]
    # How unfamiliar the image is (model.unfamiliar.statistics; higher: less like the training images),
    # None when the model file has no reference statistics.
    unfamiliarity: float | None = None
    leukocyte_found: bool = True
    networks_agree: bool = True
    ok: ClassVar[Literal[True]] = True

    @property
    def predicted_index(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return max(self.probabilities)


@dataclass(frozen=True)
class UnreadableImage:
    """A file that could not be classified, and why, in words for the technician."""

    path: Path
    error: str
    ok: ClassVar[Literal[False]] = False


# One image's outcome: `ok` tells which (and narrows the type for a checker).
Result = ClassifiedImage | UnreadableImage


@dataclass(frozen=True)
class ViewOutputs:
    """One network's answer for a batch, view by view: logits (views, images, classes) and the
    penultimate features (views, images, features), None for a network without a final linear
    layer."""

    logits: np.ndarray
    features: np.ndarray | None


# Far beyond what a trained network gives (BloodCell's: within about ±30); a graph that answers
# more is broken or crafted, and would make every confidence 1.0.
MAX_LOGIT = 1e4


def outputs_problem(answers: Sequence[ViewOutputs], images: int, classes: int) -> str | None:
    """Why the networks' answers for a batch of `images` cannot be used, or None: each answer
    checked before any of it is shown, so a lying graph never becomes a row."""
    for index, answer in enumerate(answers):
        logits, features = np.asarray(answer.logits), answer.features
        if logits.ndim != 3 or logits.shape[1:] != (images, classes):
            return (
                f"its network {index} answered {images} pictures with class scores shaped {logits.shape[1:]}, "
                f"not ({images}, {classes})"
            )
        if features is not None and (features.ndim != 3 or features.shape[:2] != logits.shape[:2]):
            return f"its network {index} gave features for {features.shape[1:2]} pictures, not {images}"
        if not np.isfinite(logits).all() or (features is not None and not np.isfinite(features).all()):
            return f"its network {index} gave NaN or infinite numbers"
        if np.abs(logits).max(initial=0) > MAX_LOGIT:
            return f"its network {index} gave class scores beyond ±{MAX_LOGIT:g}, which no trained network gives"
    return None


class Backend(Protocol):
    """What runs the networks: one NHWC uint8 batch per network in, ViewOutputs per network out."""

    def run(self, batches: Sequence[np.ndarray]) -> list[ViewOutputs]: ...

    def describe(self) -> str: ...


class Classifier:
    """A loaded model and the backend that runs it, ready to classify files. An ensemble's networks each see
    the image their own way; their class probabilities are averaged."""

    def __init__(self, loaded: LoadedModel, backend: Backend) -> None:
        self.info: ModelInfo = loaded.info
        self.path = loaded.path
        self.references: ReferenceStatistics | None = loaded.references
        self.backend = backend
        # Each distinct input policy is prepared once per image, however many networks share it.
        self.policies: list[InputPolicy] = list(dict.fromkeys(network.policy for network in self.info.networks))
        self._policy_of_network = [self.policies.index(network.policy) for network in self.info.networks]

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    @property
    def policy(self) -> InputPolicy:
        """The input policy of a single network (an ensemble's first)."""
        return self.policies[0]

    def probabilities(self, pixels: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities for a batch of HWC uint8 images already in the policy's frame
        (one stacked batch per entry of `policies`), averaged over each network's symmetric
        views and over the networks."""
        return self.outputs(pixels).probabilities

    def outputs(self, pixels: np.ndarray | Sequence[np.ndarray]) -> BatchOutputs:
        """Probabilities, and each network's penultimate features, logits and top class."""
        batches = [pixels] if isinstance(pixels, np.ndarray) else list(pixels)
        answers = self.backend.run([batches[index] for index in self._policy_of_network])
        problem = outputs_problem(answers, len(batches[0]), len(self.classes))
        if problem:
            raise ModelFileError(self.path, problem)
        return combine_networks(answers)

    def unfamiliarity(self, outputs: BatchOutputs) -> np.ndarray | None:
        """The combined unfamiliarity score of each image, or None without reference statistics."""
        if self.references is None or len(outputs.features) != len(self.info.networks):
            return None
        return self.references.scores(outputs.features, outputs.logits)

    def threshold(self, pass_share: float | None = None) -> float | None:
        """The unfamiliarity above which an image is flagged: the model file's own, or the one
        that lets `pass_share` of its held-out calibration images pass."""
        if self.references is None:
            return None
        if pass_share is None:
            return self.references.threshold
        return threshold_for(self.references.calibration_scores, pass_share)

    def unidentified(self, result: Result, pass_share: float | None = None) -> str | None:
        """Why this result belongs in the Unidentified bin, or None."""
        return unidentified_reason(result, self.threshold(pass_share)) if isinstance(result, ClassifiedImage) else None

    def classify(
        self,
        inputs: Iterable[Path | str],
        *,
        batch_size: int = 64,
        should_stop: Callable[[], bool] = lambda: False,
        decode_threads: int | None = None,
        on_outputs: Callable[[list[Path], BatchOutputs], None] | None = None,
        magnification: Magnification | None = None,
    ) -> Iterator[Result]:
        """Yield one Result per image file found in `inputs`, in order, as each batch finishes.

        Folders are searched recursively for image files. Stops cleanly between batches once
        `should_stop()` is true; everything yielded before stays valid. `on_outputs` is given
        each batch's readable paths and the networks' outputs for them (calibration needs them).
        """
        if batch_size < 1:
            raise ValueError(f"the batch size must be at least 1, not {batch_size}")
        threads = decode_threads or worker_threads(spare=1)
        batches = _batched(expand_inputs(inputs), batch_size)
        # A batch's own magnification frames every picture as the model saw cells in training.
        policies = [policy_at(policy, magnification) for policy in self.policies]
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode") as pool:

            def submit(batch: list) -> list:
                return [
                    item if isinstance(item, BadFile) else (item, pool.submit(decode_image, item, policies))
                    for item in batch
                ]

            ahead = submit(next(batches, []))
            while ahead and not should_stop():
                current, ahead = ahead, submit(next(batches, []))
                yield from self._finish(current, on_outputs)
            for item in ahead:
                if not isinstance(item, BadFile):
                    item[1].cancel()

    def _finish(self, batch: list[BadFile | tuple[Path, Future]], on_outputs=None) -> Iterator[Result]:
        decoded: list[tuple[Path, Decoded | str]] = [
            (item.path, item.reason) if isinstance(item, BadFile) else (item[0], item[1].result()) for item in batch
        ]
        good = [inputs for _, inputs in decoded if not isinstance(inputs, str)]
        if good:
            stacked = [np.stack(per_policy) for per_policy in zip(*(d.pixels for d in good), strict=True)]
            outputs = self.outputs(stacked)
            scores = self.unfamiliarity(outputs)
            if on_outputs is not None:
                on_outputs([path for path, inputs in decoded if not isinstance(inputs, str)], outputs)
        position = 0
        for path, inputs in decoded:
            if isinstance(inputs, str):
                yield UnreadableImage(path, inputs)
                continue
            row = outputs.probabilities[position]
            score = None if scores is None else float(scores[position])
            agree = bool(outputs.networks_agree[position])
            position += 1
            if np.isfinite(row).all() and (score is None or math.isfinite(score)):
                yield ClassifiedImage(
                    path,
                    probabilities=tuple(float(p) for p in row),
                    unfamiliarity=score,
                    leukocyte_found=inputs.leukocyte_found,
                    networks_agree=agree,
                )
            else:  # never a NaN class: it would count as a confident answer nowhere and everywhere
                yield UnreadableImage(path, NO_VALID_ANSWER)


@dataclass(frozen=True)
class BatchOutputs:
    """What the networks say about a batch: mean probabilities (images, classes), and per
    network its penultimate features and logits (view-averaged), and whether they agree."""

    probabilities: np.ndarray
    features: list[np.ndarray]
    logits: list[np.ndarray]
    networks_agree: np.ndarray


@dataclass(frozen=True)
class Decoded:
    """An image prepared for each input policy, and whether a stained cell was found in it."""

    pixels: list[np.ndarray]
    leukocyte_found: bool


def combine_networks(answers: Sequence[ViewOutputs]) -> BatchOutputs:
    """Softmax of each view's logits, averaged over the views and then over the networks; each
    network's features and logits averaged over its views; whether the networks' top classes
    agree."""
    probabilities, features, logits = [], [], []
    for answer in answers:
        view_logits = answer.logits.astype(np.float32, copy=False)
        probabilities.append(softmax(view_logits).mean(0))
        if answer.features is not None:
            features.append(answer.features.mean(0))
            logits.append(view_logits.mean(0))
    tops = np.stack([p.argmax(1) for p in probabilities])
    return BatchOutputs(np.mean(probabilities, axis=0), features, logits, (tops == tops[0]).all(0))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in the logits' precision, stable for large logits."""
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or infinite rows stay NaN: refused later
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)


def decode_image(path: Path, policies: list[InputPolicy]) -> Decoded | str:
    """The image as each policy prepares it, or why it cannot be read. The stained cell is
    located once: it frames "cell" inputs and is the unfamiliar-image gate."""
    try:
        image = load_rgb(path)
        cell = locate_stained_cell(image)
        return Decoded([to_uint8_array(image, policy, cell) for policy in policies], cell is not None)
    except ImageError as error:
        return error.reason
    except Exception as error:  # noqa: BLE001 - a decoder bug must not end the whole run
        return f"the image could not be decoded ({type(error).__name__}: {error})"


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
