"""The engine calls the GUI runs in workers, written as plain `task(state, ...)` functions.

torch and fastai are imported inside the tasks, so importing this module costs nothing on
the way to the first window.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model.infer import Classifier, Result

from bloodcell_gui.workers import TaskState

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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ClassifiedBatch:
    """Results since the last report, with their ground-truth class where a folder gives one."""

    results: list[tuple[Result, int | None]]
    done: int
    total: int
    elapsed: float


def classify_inputs(state: TaskState, classifier: Classifier, inputs: list[Path]) -> int:
    """Classify files and folders, reporting ClassifiedBatch every ~50 ms; returns the count.

    A dropped folder whose subfolders are named like the model's classes provides ground
    truth for the images below them.
    """
    from model.evaluate import ground_truth
    from model.infer import Result
    from model.scan import BadFile, expand_inputs

    started = time.monotonic()
    roots = [p for p in inputs if p.is_dir() and _has_class_folders(p, classifier.classes)]
    items = list(expand_inputs(inputs))
    files = [item for item in items if isinstance(item, Path)]
    pending: list[tuple[Result, int | None]] = [
        (Result(item.path, error=item.reason), None) for item in items if isinstance(item, BadFile)
    ]
    total = len(items)
    done = len(pending)
    last_report = time.monotonic()

    def truth(path: Path) -> int | None:
        for root in roots:
            index = ground_truth(path, root, classifier.classes)
            if index is not None:
                return index
        return None

    for result in classifier.classify(files, should_stop=state.should_stop):
        pending.append((result, truth(result.path)))
        done += 1
        if time.monotonic() - last_report >= RESULT_FLUSH_SECONDS:
            state.report(ClassifiedBatch(pending, done, total, time.monotonic() - started))
            pending, last_report = [], time.monotonic()
    state.report(ClassifiedBatch(pending, done, total, time.monotonic() - started))
    return done


def _has_class_folders(folder: Path, classes: list[str]) -> bool:
    from model.scan import class_folders

    try:
        names = {name.casefold() for name in class_folders(folder)}
    except OSError:
        return False
    return bool(names & {c.casefold() for c in classes})
