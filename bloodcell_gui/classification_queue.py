"""Files and folders waiting to be classified, and the one classification running.

Opened inputs join the queue; whatever is queued is classified in one background job as soon
as a model is ready and no job runs. Results arrive in batches (`batchReady`), progress as
words (`progressChanged`), and `finished` says how the last job ended.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from bloodcell_gui.workers import TaskRunner, describe_error
from model.classify_job import ClassifiedBatch, classify_inputs
from model.formatting import format_seconds


class ClassificationQueue(QObject):
    started = Signal()
    batchReady = Signal(object)  # ClassifiedBatch
    progressChanged = Signal(int, int, str)  # done, total, words
    failed = Signal(str)
    finished = Signal(str)  # how the last job ended, in words

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pending: list[Path] = []
        self.classifier = None
        self.runner = TaskRunner(self)
        self._started = 0.0
        self._done = 0

    def add(self, paths: list[Path]) -> None:
        self.pending.extend(paths)
        self._start_next()

    def set_classifier(self, classifier) -> None:
        self.classifier = classifier
        self._start_next()

    @property
    def busy(self) -> bool:
        return self.runner.running or bool(self.pending)

    @property
    def running(self) -> bool:
        return self.runner.running

    def cancel(self) -> None:
        """Stop after the current batch; what was classified stays, the queue is dropped."""
        self.pending.clear()
        self.runner.stop()

    def wait(self) -> None:
        self.runner.wait()

    def _start_next(self) -> None:
        if self.runner.running or not self.pending or self.classifier is None:
            return
        inputs, self.pending = self.pending, []
        self._started = time.monotonic()
        self._done = 0
        self.started.emit()
        self.runner.start(
            classify_inputs,
            self.classifier,
            inputs,
            on_progress=self._batch,
            on_error=lambda error: self.failed.emit(describe_error(error)),
            on_finished=self._job_ended,
        )

    def _batch(self, batch: ClassifiedBatch) -> None:
        self._done = batch.done
        self.batchReady.emit(batch)
        rate = batch.done / batch.elapsed if batch.elapsed > 0 else 0.0
        eta = (batch.total - batch.done) / rate if rate > 0 else float("nan")
        queued = f" (+{len(self.pending)} queued)" if self.pending else ""
        words = f"{batch.done} / {batch.total} images · {rate:.0f}/s · {format_seconds(eta)} left{queued}"
        self.progressChanged.emit(batch.done, batch.total, words)

    def _job_ended(self) -> None:
        if self.pending:
            self._start_next()
            return
        self.finished.emit(f"Done: {self._done} files in {time.monotonic() - self._started:.1f} s")
