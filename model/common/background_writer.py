"""Files written off the caller's thread: the caller hands over a snapshot (cheap to take), one
worker serialises and writes it atomically, and a newer request for the same file replaces one
still waiting (the latest write wins: an autosave after every key press costs the key press
nothing, and only the last state reaches the disk).

Outcomes are reported through a plain callback, on the worker thread; a GUI adapts it to a
signal."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from model.common.atomic import atomic_write_bytes


@dataclass(frozen=True)
class WriteOutcome:
    """A request done: `error` in words when the file could not be written (nothing was
    replaced then), None when it was."""

    path: Path
    purpose: str
    error: str | None = None


@dataclass(frozen=True)
class _Request:
    path: Path
    encode: Callable[[], bytes] | None  # None: remove the file
    purpose: str
    private: bool


class BackgroundWriter:
    """One worker thread writing files; `submit` never waits for the disk."""

    def __init__(self, on_written: Callable[[WriteOutcome], None] = lambda outcome: None) -> None:
        self._on_written = on_written
        self._waiting: dict[Path, _Request] = {}
        self._busy = False
        self._closed = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="background-writer", daemon=True)
        self._thread.start()

    def submit(self, path: Path | str, encode: Callable[[], bytes], *, purpose: str, private: bool = False) -> None:
        """Write what `encode()` returns to `path`, atomically, on the worker. `encode` runs
        there: it must only read a snapshot the caller no longer changes."""
        with self._condition:
            if self._closed:
                raise RuntimeError("the writer is closed")
            self._waiting[Path(path)] = _Request(Path(path), encode, purpose, private)  # a newer one replaces it
            self._condition.notify_all()

    def remove(self, path: Path | str, *, purpose: str) -> None:
        """Remove `path` on the worker, after a write of it already under way; a write of it still
        waiting is dropped (the latest request wins), and a later one will write it again."""
        with self._condition:
            if self._closed:
                raise RuntimeError("the writer is closed")
            self._waiting[Path(path)] = _Request(Path(path), None, purpose, private=False)
            self._condition.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every request so far is written; False when `timeout` ran out first."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._waiting and not self._busy, timeout)

    @property
    def idle(self) -> bool:
        with self._condition:
            return not self._waiting and not self._busy

    def close(self, timeout: float | None = None) -> bool:
        """Write what is waiting, then stop the worker."""
        written = self.flush(timeout)
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout)
        return written

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._waiting or self._closed)
                if not self._waiting:
                    return
                request = self._waiting.pop(next(iter(self._waiting)))
                self._busy = True
            outcome = self._write(request)
            with contextlib.suppress(Exception):  # a listener's fault must not end the writer
                self._on_written(outcome)
            with self._condition:
                self._busy = False
                self._condition.notify_all()

    @staticmethod
    def _write(request: _Request) -> WriteOutcome:
        try:
            if request.encode is None:
                request.path.unlink(missing_ok=True)
            else:
                atomic_write_bytes(request.path, request.encode(), private=request.private)
        except (OSError, ValueError, TypeError) as error:
            return WriteOutcome(request.path, request.purpose, f"{type(error).__name__}: {error}")
        return WriteOutcome(request.path, request.purpose)
