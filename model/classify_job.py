"""Classifying what a technician opens, as a task: a model made ready for it, and files and
folders classified in batches, each result with its ground truth where a class folder gives one.

torch is imported inside the functions, so importing this module costs nothing on the way to
the first window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from model.ground_truth import FolderTruth
from model.hashing import file_sha256
from model.task import TaskState

if TYPE_CHECKING:
    from model.infer import Classifier, Result

# How often partial results are reported: often enough to look live, rarely enough that a
# receiver (a table view) is not flooded.
RESULT_FLUSH_SECONDS = 0.05


@dataclass(frozen=True)
class LoadedClassifier:
    classifier: Classifier
    path: Path
    sha256: str
    device_name: str


def load_classifier(state: TaskState, path: Path, device: str = "auto") -> LoadedClassifier:
    """Import the engine (the slow part of starting) and load a model file."""
    from model.devices import describe_device
    from model.infer import Classifier

    classifier = Classifier.from_file(path, device)
    return LoadedClassifier(classifier, Path(path), file_sha256(path), describe_device(classifier.device))


@dataclass(frozen=True)
class ClassifiedBatch:
    """Results since the last report, with their ground-truth class where a folder gives one."""

    results: list[tuple[Result, int | None]]
    done: int
    total: int
    elapsed: float


def classify_inputs(state: TaskState, classifier: Classifier, inputs: list[Path]) -> int:
    """Classify files and folders, reporting ClassifiedBatch every ~50 ms; returns the count.

    A folder whose subfolders are named like the model's classes provides ground truth for
    the images below them.
    """
    from model.infer import Result
    from model.scan import BadFile, expand_inputs

    started = time.monotonic()
    truth = FolderTruth(inputs, classifier.classes)
    items = list(expand_inputs(inputs))
    files = [item for item in items if isinstance(item, Path)]
    pending: list[tuple[Result, int | None]] = [
        (Result(item.path, error=item.reason), None) for item in items if isinstance(item, BadFile)
    ]
    total = len(items)
    done = len(pending)
    last_report = time.monotonic()
    for result in classifier.classify(files, should_stop=state.should_stop):
        pending.append((result, truth(result.path)))
        done += 1
        if time.monotonic() - last_report >= RESULT_FLUSH_SECONDS:
            state.report(ClassifiedBatch(pending, done, total, time.monotonic() - started))
            pending, last_report = [], time.monotonic()
    state.report(ClassifiedBatch(pending, done, total, time.monotonic() - started))
    return done
