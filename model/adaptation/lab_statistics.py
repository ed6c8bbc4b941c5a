"""Matching a model to one lab's pictures without labels: every BatchNorm's running statistics
re-measured on that lab's own images (AdaBN, Li et al. 2016). The weights are kept.

Why: a network normalises each feature map with the mean and variance of its training lab's
pictures; another lab's stain, camera and magnification move those, and measured here it is
that shift more than the features that does not travel. The shipped default, trained on one
lab, went from 37.7 % to 75.7 % balanced accuracy on the second lab's held-out cells with 1,600
of that lab's unlabelled images; a leave-one-lab-out EfficientNet-Lite0 from 52.8 % to 75.8 %
(research/notes/recipe-search-2026-11-28.md). No technician time is needed: a day's cells will do.

- Each network prepares the images with its own input policy (framing, size, normalisation),
  as classification does; the statistics are a cumulative average over all of them.
- Images in which no stained cell is found are left out (they are most likely not leukocytes
  and would pull the statistics away from the cells), as are unreadable ones; each is named.
- The unfamiliar-image statistics measured the old features, so the new file carries none:
  the flag is unavailable until it is calibrated on labelled cells of the lab (`bloodcell
  calibrate`, or Adapt to this lab), and the app says so.
- The step is recorded in the file's chain of adaptations, with its parent's name and SHA-256.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.common.collector import import_quietly
from model.common.cores import worker_threads
from model.common.events import ScanProgress
from model.common.task import TaskState
from model.fileformat.header import LAB_STATISTICS, LoadedModel, ModelInfo
from model.inference.backends.torch_backend import network_input
from model.inference.classifier import Decoded, decode_image
from model.networks.catalogue import can_match_lab
from model.networks.members import networks_of, packed

# Fewer images than this give statistics that move with every picture; the probes used 1,600.
MIN_IMAGES = 100
SUGGESTED_IMAGES = 500
# More only cost time: the averages have settled long before.
MAX_IMAGES = 2000
BATCH_SIZE = 64
WHAT = "measuring the lab's images"


@dataclass
class LabMatch:
    """A model whose normalisation follows one lab's images, and what went into it."""

    model: LoadedModel
    images_used: int
    left_out: list[tuple[Path, str]]
    seconds: float


def sample_images(paths: Sequence[Path], seed: int = 0) -> list[Path]:
    """At most MAX_IMAGES of `paths`, drawn evenly and reproducibly, in their order."""
    paths = list(dict.fromkeys(Path(p) for p in paths))
    if len(paths) <= MAX_IMAGES:
        return paths
    keep = np.random.default_rng(seed).choice(len(paths), MAX_IMAGES, replace=False)
    return [paths[i] for i in sorted(keep)]


def refuse_unmatchable(info: ModelInfo) -> None:
    """ValueError, in words, for a model with nothing to match. The registry's rule, the one the
    window and the CLI's advice ask: every network must keep lab statistics, or the matched model
    would mix one lab's normalisation with another's."""
    arches = [network.arch for network in info.networks]
    if not can_match_lab(arches):
        per_picture = sorted({arch for arch in arches if not can_match_lab([arch])})
        raise ValueError(
            f"{info.name} normalises each picture by itself ({', '.join(per_picture)}), so there are no "
            "statistics to move; adapt it from cells verified in this lab instead (bloodcell finetune)"
        )


def match_lab(parent: LoadedModel, parent_sha256: str, paths: Sequence[Path], state: TaskState) -> LabMatch:
    """A copy of `parent` with every network's BatchNorm statistics measured on `paths`.

    Raises ValueError (in words) when too few usable images remain or a network normalises each
    picture by itself (nothing to move), InterruptedError when stopped (nothing half-measured is kept)."""
    started = time.monotonic()
    refuse_unmatchable(parent.info)
    modules = networks_of(parent.module, parent.info.is_ensemble)
    chosen = sample_images(paths)
    policies = [network.policy for network in parent.info.networks]
    usable, left_out = _usable_images(chosen, policies, state)
    if len(usable) < MIN_IMAGES:
        raise ValueError(
            f"{len(usable)} usable images of the lab (at least {MIN_IMAGES} are needed, {SUGGESTED_IMAGES} or more "
            f"are better; {len(left_out)} left out)"
        )
    matched = [copy.deepcopy(module).float() for module in modules]
    for module in matched:
        _reset(module)
    spreads = [(torch.tensor(p.mean).view(1, 3, 1, 1), torch.tensor(p.std).view(1, 3, 1, 1)) for p in policies]
    with torch.no_grad():
        for start in range(0, len(usable), BATCH_SIZE):
            if state.should_stop():
                raise InterruptedError("matching to the lab's images was cancelled; the model is unchanged")
            batch = usable[start : start + BATCH_SIZE]
            for index, (module, (mean, std)) in enumerate(zip(matched, spreads, strict=True)):
                module(network_input(np.stack([decoded.pixels[index] for decoded in batch]), mean, std))
            state.report(ScanProgress(WHAT, min(start + BATCH_SIZE, len(usable)), len(usable)))
    for module in matched:
        module.eval()
    module = packed(matched, parent.info.is_ensemble)
    step = {"kind": LAB_STATISTICS, "images": len(usable), "left_out": len(left_out)}
    info = parent.info.with_adaptation(parent.path, parent_sha256, step)
    model = LoadedModel(module=module, info=info, path=Path("<unsaved>"))
    return LabMatch(model, len(usable), left_out, time.monotonic() - started)


def save_match(match: LabMatch, path: Path | str, *, name: str) -> Path:
    """Write the matched model, without unfamiliar-image statistics (see the module's notes)."""
    from model.modelfile.torch_file import save

    match.model.info.name = name
    return save(path, match.model.module, match.model.info, references=None)


def _norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


def _reset(module: nn.Module) -> None:
    """Training mode for the BatchNorms only (dropout stays off), statistics forgotten and then
    averaged over every batch alike (momentum None)."""
    module.eval()
    for norm in _norms(module):
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()


def _usable_images(paths: list[Path], policies: list, state: TaskState) -> tuple[list[Decoded], list[tuple[Path, str]]]:
    """The images decoded for every policy, less the unreadable ones and those with no stained cell."""
    usable: list[Decoded] = []
    left_out: list[tuple[Path, str]] = []
    threads = worker_threads()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode") as pool:
        for done, (path, decoded) in enumerate(
            zip(paths, pool.map(lambda p: decode_image(p, policies), paths), strict=True), start=1
        ):
            if state.should_stop():
                pool.shutdown(wait=False, cancel_futures=True)  # a stop does not wait for the rest
                raise InterruptedError("matching to the lab's images was cancelled; the model is unchanged")
            if isinstance(decoded, str):
                left_out.append((path, decoded))
            elif not decoded.leukocyte_found:
                left_out.append((path, "no stained cell found in it"))
            else:
                usable.append(decoded)
            if done % BATCH_SIZE == 0 or done == len(paths):
                state.report(ScanProgress("reading the lab's images", done, len(paths)))
    return usable, left_out


def match_file(state: TaskState, parent_path: Path, paths: Sequence[Path]) -> LabMatch:
    """`match_lab` for a background task: the parent read from its file (the running classifier
    keeps only folded weights, whose BatchNorms are gone)."""
    # Reading the parent's networks imports fastai (model.networks.build): without collector pauses.
    import_quietly("model.modelfile.torch_file")
    from model.common.hashing import file_sha256
    from model.modelfile.torch_file import load

    return match_lab(load(parent_path), file_sha256(parent_path), paths, state)
