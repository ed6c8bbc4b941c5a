"""Run engine tasks on QThreads, turning their plain callbacks into Qt signals.

An engine task is called as `task(state, *args)`; it reports through `state.report(value)` and
polls `state.should_stop()` (Orange3's TaskState, `model.common.task`). A `Worker` is one such call
on its own thread; a `TaskRunner` is what a widget owns to run its tasks (Orange3's
ConcurrentWidgetMixin): starting a task supersedes the one before it, and progress, results
and errors of a superseded or discarded task never reach the widget.
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

from model.common.task import TaskState

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


def describe_error(error: BaseException) -> str:
    """An exception as a technician reads it: its message, else its kind."""
    return str(error) or type(error).__name__


class Worker(QThread):
    """One call of `function(state, *args)` on its own thread.

    `succeeded` carries the return value, `failed` the exception (its traceback is kept in
    `error_details`), so a receiver can tell kinds of failure apart; exactly one of them is
    emitted, then QThread's `finished`. The object lives in the GUI thread, so every signal
    reaches GUI slots queued, never directly.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)

    _running: set[Worker] = set()
    # Threads nobody waits for: they only load (importing torch cannot be interrupted) and may
    # be dropped with the process; see `abandon`.
    _abandoned: set[Worker] = set()

    def __init__(self, function: Callable[..., Any], *args: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.function = function
        self.args = args
        self.state = TaskState(self.progress.emit)
        self.error_details = ""
        self.returned = False  # the function has returned or raised: the thread is only ending
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
            self.returned = True
            self.error_details = traceback.format_exc()
            self.failed.emit(error)
        else:
            self.returned = True
            self.succeeded.emit(result)

    @Slot()
    def _forget(self) -> None:
        Worker._running.discard(self)

    @classmethod
    def running(cls) -> set[Worker]:
        return {worker for worker in cls._running if worker.isRunning()}

    def abandon(self) -> None:
        """Stop caring about this worker: it keeps no parent (so closing a window does not
        destroy a running thread) and nobody waits for it; `run_gui` ends the process without
        waiting when such a thread still runs. Only for work that writes nothing."""
        self.cancel()
        self.setParent(None)
        Worker._abandoned.add(self)

    @classmethod
    def stop_all(cls, milliseconds: int = 30_000) -> None:
        """Ask every worker to stop and wait for their threads (at application exit)."""
        for worker in list(cls._running):
            worker.cancel()
        for worker in list(cls._running - cls._abandoned):
            worker.wait(milliseconds)

    @classmethod
    def abandoned_still_running(cls) -> bool:
        return any(worker.isRunning() for worker in cls._abandoned)


Handler = Callable[[Any], None] | None


class TaskRunner(QObject):
    """Runs its owner's background tasks, one at a time.

    `start` asks the task running to stop and forgets it (its later signals are dropped), then
    starts the new one; `on_progress`, `on_done` (the result) and `on_error` (the exception)
    are called on the GUI thread for the current task only, and `on_finished` once it has
    ended, whichever way. `stop` asks the current task to stop and still delivers what it
    returns (a stopped training keeps its best epoch); `discard` stops it and drops everything.
    """

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._current: Worker | None = None
        self._workers: set[Worker] = set()

    @property
    def running(self) -> bool:
        return self._current is not None

    def start(
        self,
        function: Callable[..., Any],
        *args: Any,
        on_progress: Handler = None,
        on_done: Handler = None,
        on_error: Handler = None,
        on_finished: Callable[[], None] | None = None,
    ) -> Worker:
        self.discard()
        worker = Worker(function, *args, parent=self)
        self._current = worker
        self._workers.add(worker)

        def route(handler: Handler) -> Callable[[Any], None]:
            return lambda value: handler(value) if handler is not None and self._current is worker else None

        worker.progress.connect(route(on_progress))
        worker.succeeded.connect(route(on_done))
        worker.failed.connect(route(on_error))
        worker.finished.connect(lambda: self._ended(worker, on_finished))
        return worker.start()

    def stop(self) -> None:
        if self._current is not None:
            self._current.cancel()

    def discard(self) -> None:
        if self._current is not None:
            self._current.cancel()
            self._current = None

    def abandon(self) -> None:
        """Drop the current task and stop waiting for it (a model still loading at exit). Tasks
        superseded before, which have finished their work, are still waited for."""
        current, self._current = self._current, None
        if current is not None and current.isRunning() and not current.returned:
            current.abandon()
            self._workers.discard(current)

    def wait(self) -> None:
        """Block until every task this runner started has ended (closing a page or window)."""
        for worker in list(self._workers):
            worker.wait()

    def _ended(self, worker: Worker, on_finished: Callable[[], None] | None) -> None:
        self._workers.discard(worker)
        if self._current is worker:
            self._current = None
            if on_finished is not None:
                on_finished()
