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

from model.common.collector import imports_without_pauses
from model.common.hashing import file_sha256
from model.common.task import TaskState
from model.evaluation.ground_truth import FolderTruth
from model.images.magnification import AUTO, Magnification, batch_framing

if TYPE_CHECKING:
    from model.inference.classifier import Classifier, Result

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
    from model.modelfile.opening import open_classifier

    # The first model imports torch or ONNX Runtime: without collector pauses (model.common.collector).
    # A classifier holds no reference cycle, so freezing it keeps nothing after it is replaced.
    with imports_without_pauses():
        classifier = open_classifier(path, device)
    return LoadedClassifier(classifier, Path(path), file_sha256(path), classifier.backend.describe())


@dataclass(frozen=True)
class Classified:
    """One image's result, its ground truth where a class folder gives one, its file's SHA-256."""

    result: Result
    truth: int | None
    sha256: str


@dataclass(frozen=True)
class ClassifiedBatch:
    """Results since the last report; `skipped` counts, so far, the files not classified because
    they were already classified (the same path, or the same picture under another name)."""

    results: list[Classified]
    done: int
    total: int
    elapsed: float
    skipped: int = 0
    # Files in the folders that are not images by their name (notes, PDFs): listed, not errors.
    not_images: tuple[Path, ...] = ()
    # The magnification the pictures were framed at (model.images.magnification); None: as in training.
    magnification: Magnification | None = None


def classify_inputs(
    state: TaskState,
    classifier: Classifier,
    inputs: list[Path],
    known: frozenset[str] = frozenset(),
    magnification: Magnification | str | None = AUTO,
) -> int:
    """Classify files and folders, reporting ClassifiedBatch every ~50 ms; returns the count.

    A file whose path or content (SHA-256) is in `known`, or that repeats one found earlier in
    this job, is skipped: an image must not count twice in a differential. A folder whose
    subfolders are named like the model's classes provides ground truth for the images below.
    """
    from model.images.scan import BadFile, expand_inputs
    from model.inference.classifier import UnreadableImage

    started = time.monotonic()
    truth = FolderTruth(inputs, classifier.classes)
    seen = set(known)
    pending: list[Classified] = []
    files: list[Path] = []
    hashes: dict[Path, str] = {}
    skipped = 0
    not_images: list[Path] = []
    for item in expand_inputs(inputs, on_other=not_images.append):
        if state.should_stop():
            break
        if isinstance(item, BadFile):
            if str(item.path) not in seen:
                seen.add(str(item.path))
                pending.append(Classified(UnreadableImage(item.path, item.reason), None, ""))
            continue
        digest = _content_hash(item)
        if str(item) in seen or (digest and digest in seen):
            skipped += 1
            continue
        seen.update({str(item), digest} - {""})
        files.append(item)
        hashes[item] = digest
    total = len(files) + len(pending)
    done = len(pending)
    framing = batch_framing(magnification, files)
    last_report = time.monotonic()

    def batch(results: list[Classified]) -> ClassifiedBatch:
        elapsed = time.monotonic() - started
        return ClassifiedBatch(results, done, total, elapsed, skipped, tuple(not_images), framing)

    for result in classifier.classify(files, should_stop=state.should_stop, magnification=framing):
        pending.append(Classified(result, truth(result.path), hashes.get(result.path, "")))
        done += 1
        if time.monotonic() - last_report >= RESULT_FLUSH_SECONDS:
            state.report(batch(pending))
            pending, last_report = [], time.monotonic()
    state.report(batch(pending))
    return done


def _content_hash(path: Path) -> str:
    """The file's SHA-256, or "" when it cannot be read (classifying it will say why)."""
    from model.images.scan import not_a_regular_file

    if not_a_regular_file(path):
        return ""
    try:
        return file_sha256(path)
    except OSError:
        return ""
