"""Run engine functions on QThreads, turning their plain callbacks into Qt signals.

An engine function is called as `function(state, *args)`; it reports through
`state.report(value)` and polls `state.should_stop()` (Orange3's TaskState idea). The Worker
emits started / progress / succeeded / failed / finished (as superqt's workers do), received
on the GUI thread.
Workers never touch widgets; widgets never do work.
"""

from __future__ import annotations

import contextlib
import os
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot


class TaskState:
    """What a task running in a worker may do: report progress, and ask whether to stop."""

    def __init__(self, report: Callable[[Any], None]) -> None:
        self._stop = threading.Event()
        self.report = report

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()


BACKGROUND_NICENESS = 10


def lower_this_threads_priority() -> None:
    """Let the GUI thread win the CPU over work threads.

    On a two-core PC torch's compute threads would otherwise keep the GUI thread waiting
    100 ms and more. On Linux niceness is per thread and is inherited by the threads this one
    starts, such as torch's OpenMP pool, which libgomp makes per calling thread.
    """
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)


class Worker(QThread):
    """One call of `function(state, *args)` on its own thread.

    `succeeded` carries the return value, `failed` a message (the traceback is kept in
    `error_details`); exactly one of them is emitted, then QThread's `finished`. The object
    lives in the GUI thread, so every signal reaches GUI slots queued, never directly.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)

    _running: set[Worker] = set()

    def __init__(self, function: Callable[..., Any], *args: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.function = function
        self.args = args
        self.state = TaskState(self.progress.emit)
        self.error_details = ""
        self.setObjectName(getattr(function, "__name__", "worker"))
        self.finished.connect(self._forget)

    def start(self) -> Worker:  # type: ignore[override]
        Worker._running.add(self)
        super().start(QThread.Priority.LowPriority)  # honoured on Windows and macOS
        return self

    def cancel(self) -> None:
        self.state.request_stop()

    def run(self) -> None:
        lower_this_threads_priority()
        try:
            result = self.function(self.state, *self.args)
        except Exception as error:  # noqa: BLE001 - every failure is reported, none escapes
            self.error_details = traceback.format_exc()
            self.failed.emit(str(error) or type(error).__name__)
        else:
            self.succeeded.emit(result)

    @Slot()
    def _forget(self) -> None:
        Worker._running.discard(self)

    @classmethod
    def running(cls) -> set[Worker]:
        return {worker for worker in cls._running if worker.isRunning()}

    @classmethod
    def stop_all(cls, milliseconds: int = 30_000) -> None:
        """Ask every worker to stop and wait for their threads (at application exit)."""
        for worker in list(cls._running):
            worker.cancel()
        for worker in list(cls._running):
            worker.wait(milliseconds)
