"""What a long task may do while it runs (Orange3's TaskState): report partial results or
progress, and ask whether it should stop. The engine's long functions take one; a terminal
or a Qt worker provides it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class TaskState:
    def __init__(self, report: Callable[[Any], None] = lambda value: None) -> None:
        self._stop = threading.Event()
        self.report = report

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()


def imported_task(module: str, name: str) -> Callable[..., Any]:
    """The task `module.name(state, *args)`, its module imported when it runs: on the worker's
    thread and without collector pauses (model.common.collector). A window that starts it thus loads
    no torch or fastai on its own thread, which would freeze it for seconds."""

    def run(state: TaskState, *args: Any) -> Any:
        from model.common.collector import import_quietly

        return getattr(import_quietly(module), name)(state, *args)

    run.__name__ = name
    return run
