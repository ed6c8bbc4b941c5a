"""Files and folders waiting to be classified, and the one classification running.

Opened inputs join the queue; whatever is queued is classified in one background job as soon
as a model is ready and no job runs. Images already in the results (`known`) are skipped.
Results arrive in batches with the model that made them (`batchReady`), progress as words
(`progressChanged`), and `finished` says how the last job ended: done or cancelled, with counts.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from bloodcell_gui.workers import TaskRunner, describe_error
from model.common.formatting import format_seconds
from model.evaluation.classify_job import ClassifiedBatch, classify_inputs
from model.images.magnification import AUTO
from model.review.session import ModelIdentity

# The time left is not shown before this much of the job and this many seconds have passed:
# early rates include starting up and mislead.
ETA_AFTER_SHARE = 0.05
ETA_AFTER_SECONDS = 3.0


class ClassificationQueue(QObject):
    started = Signal()
    batchReady = Signal(object, object, bool)  # ClassifiedBatch, ModelIdentity, replace rows
    progressChanged = Signal(int, int, str)  # done, total, words
    failed = Signal(str)
    finished = Signal(str)  # how the last job ended, in words

    def __init__(self, known=lambda: frozenset(), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pending: list[Path] = []
        self.replacing: list[Path] = []
        self.known = known
        self.classifier = None
        self.identity: ModelIdentity | None = None
        self.runner = TaskRunner(self)
        self._started = 0.0
        self._batch: ClassifiedBatch | None = None
        self._cancelled = False

    def add(self, paths: list[Path]) -> None:
        self.pending.extend(paths)
        self._start_next()

    def reclassify(self, paths: list[Path]) -> None:
        """Classify these again (with the current model), replacing their rows."""
        self.replacing.extend(paths)
        self._start_next()

    def set_classifier(self, classifier, identity: ModelIdentity) -> None:
        self.classifier = classifier
        self.identity = identity
        self._start_next()

    @property
    def busy(self) -> bool:
        return self.runner.running or bool(self.pending) or bool(self.replacing)

    @property
    def running(self) -> bool:
        return self.runner.running

    def cancel(self) -> None:
        """Stop after the current batch; what was classified stays, the queue is dropped."""
        self.pending.clear()
        self.replacing.clear()
        if self.runner.running:
            self._cancelled = True
            self.runner.stop()

    def wait(self) -> None:
        self.runner.wait()

    # The session's magnification, or AUTO to measure it on the pictures (set by the window).
    magnification = staticmethod(lambda: AUTO)

    def _start_next(self) -> None:
        if self.runner.running or self.classifier is None or not (self.pending or self.replacing):
            return
        replace = bool(self.replacing)
        if replace:
            inputs, self.replacing, known = self.replacing, [], frozenset()
        else:
            inputs, self.pending, known = self.pending, [], self.known()
        self._started = time.monotonic()
        self._batch = None
        self._cancelled = False
        self.started.emit()
        identity = self.identity
        self.runner.start(
            classify_inputs,
            self.classifier,
            inputs,
            known,
            self.magnification(),
            on_progress=lambda batch: self._batch_ready(batch, identity, replace),
            on_error=lambda error: self.failed.emit(describe_error(error)),
            on_finished=self._job_ended,
        )

    def _batch_ready(self, batch: ClassifiedBatch, identity: ModelIdentity, replace: bool) -> None:
        self._batch = batch
        self.batchReady.emit(batch, identity, replace)
        elapsed = batch.elapsed
        rate = batch.done / elapsed if elapsed > 0 else 0.0
        queued = f" (+{len(self.pending)} queued)" if self.pending else ""
        if batch.total and batch.done / batch.total >= ETA_AFTER_SHARE and elapsed >= ETA_AFTER_SECONDS and rate:
            left = f"{format_seconds((batch.total - batch.done) / rate)} left"
        else:
            left = "estimating time left"
        words = f"{batch.done} / {batch.total} images · {rate:.0f}/s · {left}{queued}"
        self.progressChanged.emit(batch.done, batch.total, words)

    def _job_ended(self) -> None:
        if self.pending or self.replacing:
            self._start_next()
            return
        self.finished.emit(self.ending())

    def ending(self) -> str:
        """How the last job ended, in words."""
        batch, seconds = self._batch, time.monotonic() - self._started
        done, total, skipped = (batch.done, batch.total, batch.skipped) if batch else (0, 0, 0)
        skipped_words = f"; {skipped} skipped: already in the results" if skipped else ""
        others = batch.not_images if batch else ()
        if others:
            names = ", ".join(path.name for path in others[:3]) + (", …" if len(others) > 3 else "")
            skipped_words += f"; {len(others)} file(s) that are not images left out ({names})"
        if self._cancelled:
            return f"Cancelled after {seconds:.1f} s: {done} classified, {total - done} not classified{skipped_words}"
        return f"Done: {done} images in {seconds:.1f} s{skipped_words}"
