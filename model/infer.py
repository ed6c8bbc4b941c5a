"""Streaming, batched classification of any mix of files and folders.

Images are decoded on a small thread pool (PIL releases the GIL while decoding) one batch
ahead of the network, so decoding overlaps the forward pass, and at most two batches are in
memory however many files there are. An unreadable file becomes a Result with its reason.
"""

from __future__ import annotations

import copy
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from model.cell_locator import locate_stained_cell
from model.devices import resolve_device
from model.images import ImageError, load_rgb
from model.modelfile import LoadedModel, ModelInfo, load
from model.preprocess import InputPolicy, to_uint8_array
from model.scan import BadFile, expand_inputs
from model.symmetry import average_probabilities
from model.unfamiliar import ReferenceStatistics, last_linear, threshold_for, unidentified_reason

NO_VALID_ANSWER = "the model gave no valid answer for this image (NaN or infinite outputs)"


@dataclass(frozen=True)
class Result:
    """One image's outcome: class probabilities (in the model's class order), or an error."""

    path: Path
    probabilities: tuple[float, ...] | None = None
    error: str | None = None
    # How unfamiliar the image is (model.unfamiliar; higher: less like the training images),
    # None when the model file has no reference statistics.
    unfamiliarity: float | None = None
    leukocyte_found: bool = True
    networks_agree: bool = True

    @property
    def ok(self) -> bool:
        return self.probabilities is not None

    @property
    def predicted_index(self) -> int:
        assert self.probabilities is not None, "a failed result has no prediction"
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        assert self.probabilities is not None, "a failed result has no confidence"
        return max(self.probabilities)


@dataclass
class _Network:
    """One network of a model on its device: its input (an index into Classifier.policies),
    normalisation and test-time views."""

    module: nn.Module
    policy_index: int
    mean: torch.Tensor
    std: torch.Tensor
    views: str
    # What the last linear layer saw and gave, one entry per view of the current batch.
    seen: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)

    def __post_init__(self) -> None:
        head = last_linear(self.module)
        if head is not None:
            head.register_forward_hook(lambda _, inputs, output: self.seen.append((inputs[0], output)))

    def features_and_logits(self) -> tuple[np.ndarray, np.ndarray]:
        """The penultimate features and logits of the last batch, averaged over its views."""
        features = torch.stack([f.float() for f, _ in self.seen]).mean(0)
        logits = torch.stack([o.float() for _, o in self.seen]).mean(0)
        return features.cpu().numpy(), logits.cpu().numpy()


class Classifier:
    """A loaded model on a device, ready to classify files. An ensemble's networks each see
    the image their own way; their class probabilities are averaged."""

    def __init__(self, loaded: LoadedModel, device: str = "auto") -> None:
        self.info: ModelInfo = loaded.info
        self.path = loaded.path
        self.references: ReferenceStatistics | None = loaded.references
        self.device = resolve_device(device)
        self._half = self.device.type == "cuda"
        modules = list(loaded.module) if self.info.is_ensemble else [loaded.module]
        # Each distinct input policy is prepared once per image, however many networks share it.
        self.policies: list[InputPolicy] = list(dict.fromkeys(network.policy for network in self.info.networks))
        self._networks: list[_Network] = []
        for module, network in zip(modules, self.info.networks, strict=True):
            folded = fold_batch_norms(module).to(self.device, memory_format=torch.channels_last)
            policy = network.policy
            self._networks.append(
                _Network(
                    module=folded.half() if self._half else folded,
                    policy_index=self.policies.index(policy),
                    mean=torch.tensor(policy.mean, device=self.device).view(1, 3, 1, 1),
                    std=torch.tensor(policy.std, device=self.device).view(1, 3, 1, 1),
                    views=network.test_time_views,
                )
            )

    @classmethod
    def from_file(cls, path: Path | str, device: str = "auto") -> Classifier:
        return cls(load(path), device)

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    @property
    def policy(self) -> InputPolicy:
        """The input policy of a single network (an ensemble's first)."""
        return self.policies[0]

    @torch.inference_mode()
    def probabilities(self, pixels: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities for a batch of HWC uint8 images already in the policy's frame
        (one stacked batch per entry of `policies`), averaged over each network's symmetric
        views and over the networks."""
        return self.outputs(pixels).probabilities

    @torch.inference_mode()
    def outputs(self, pixels: np.ndarray | Sequence[np.ndarray]) -> BatchOutputs:
        """Probabilities, and each network's penultimate features, logits and top class."""
        batches = [pixels] if isinstance(pixels, np.ndarray) else list(pixels)
        answers, features, logits = [], [], []
        for network in self._networks:
            network.seen.clear()
            answers.append(self._run(network, batches[network.policy_index]))
            if network.seen:
                network_features, network_logits = network.features_and_logits()
                features.append(network_features)
                logits.append(network_logits)
            network.seen.clear()
        tops = np.stack([answer.argmax(1).cpu().numpy() for answer in answers])
        return BatchOutputs(torch.stack(answers).mean(0).cpu().numpy(), features, logits, (tops == tops[0]).all(0))

    def unfamiliarity(self, outputs: BatchOutputs) -> np.ndarray | None:
        """The combined unfamiliarity score of each image, or None without reference statistics."""
        if self.references is None or len(outputs.features) != len(self._networks):
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
        return unidentified_reason(result, self.threshold(pass_share)) if result.ok else None

    def _run(self, network: _Network, pixels: np.ndarray) -> torch.Tensor:
        """One network's probabilities, averaged over its views."""
        batch = torch.from_numpy(pixels).to(self.device, non_blocking=True).permute(0, 3, 1, 2)
        batch = (batch.float().div_(255) - network.mean) / network.std
        return average_probabilities(network.module, batch.half() if self._half else batch, network.views)

    def classify(
        self,
        inputs: Iterable[Path | str],
        *,
        batch_size: int = 64,
        should_stop: Callable[[], bool] = lambda: False,
        decode_threads: int | None = None,
        on_outputs: Callable[[list[Path], BatchOutputs], None] | None = None,
    ) -> Iterator[Result]:
        """Yield one Result per image file found in `inputs`, in order, as each batch finishes.

        Folders are searched recursively for image files. Stops cleanly between batches once
        `should_stop()` is true; everything yielded before stays valid. `on_outputs` is given
        each batch's readable paths and the networks' outputs for them (calibration needs them).
        """
        if batch_size < 1:
            raise ValueError(f"the batch size must be at least 1, not {batch_size}")
        threads = decode_threads or max(1, min(4, (os.cpu_count() or 2) - 1))
        batches = _batched(expand_inputs(inputs), batch_size)
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode") as pool:

            def submit(batch: list) -> list:
                return [
                    item if isinstance(item, BadFile) else (item, pool.submit(_decode, item, self.policies))
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
                yield Result(path, error=inputs)
                continue
            row = outputs.probabilities[position]
            score = None if scores is None else float(scores[position])
            agree = bool(outputs.networks_agree[position])
            position += 1
            if np.isfinite(row).all() and (score is None or math.isfinite(score)):
                yield Result(
                    path,
                    probabilities=tuple(float(p) for p in row),
                    unfamiliarity=score,
                    leukocyte_found=inputs.leukocyte_found,
                    networks_agree=agree,
                )
            else:  # never a NaN class: it would count as a confident answer nowhere and everywhere
                yield Result(path, error=NO_VALID_ANSWER)


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


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """A copy of `module` for inference, with each BatchNorm that follows a convolution in a
    Sequential folded into that convolution's weights: the same outputs (to float rounding),
    one pass less over every feature map (measured: ~5-10 % more images/s for seed-deep on CPU).
    """
    folded = copy.deepcopy(module).eval()
    for sequence in folded.modules():
        if not isinstance(sequence, nn.Sequential):
            continue
        for i in range(len(sequence) - 1):
            conv, norm = sequence[i], sequence[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                sequence[i] = fuse_conv_bn_eval(conv, norm)
                sequence[i + 1] = nn.Identity()
    return folded


def _decode(path: Path, policies: list[InputPolicy]) -> Decoded | str:
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
