"""What the command line checks and arranges before it starts work, so that a mistake is
reported at once, in words, and nothing already there is destroyed:

- numbers in range (argparse types that say what is wrong);
- output files that can be written, that are not folders and not one of the inputs;
- terminal streams that can print any file name (bytes that are not UTF-8 and control
  characters are escaped);
- SIGTERM handled like Ctrl-C, so an interrupted command still finishes what it can.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from model.common.formatting import KEEP_LINES, terminal_path
from model.images.reading import is_image_name
from model.training.limits import Limit

# The subcommands (model.cli.main); `bloodcell WORD` with any other word opens the window on WORD.
COMMANDS = (
    "train",
    "classify",
    "evaluate",
    "combine",
    "calibrate",
    "finetune",
    "match-lab",
    "convert",
    "session",
    "info",
)


def whole_number_at_least(minimum: int):
    """An argparse type: a whole number no smaller than `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not allowed: it must be at least {minimum}")
        return value

    return parse


positive_int = whole_number_at_least(1)
non_negative_int = whole_number_at_least(0)


def within(limit: Limit):
    """An argparse type for a training setting: a number inside its declared range."""

    def parse(text: str) -> float | int:
        try:
            value: float | int = int(text) if limit.whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if limit.whole else 'a number'}"
            ) from None
        problem = limit.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not allowed: it must be a finite number")
    return value


def share(text: str) -> float:
    value = finite_float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: a share is above 0 and below 1 (e.g. 0.2)")
    return value


class OutputError(ValueError):
    pass


def check_output(path: Path, inputs: Iterable[Path] = (), *, what: str = "output file") -> None:
    """Refuse, before any work, an output that cannot be written or would destroy an input."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: the {what} names a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: the folder {parent} cannot be written to")
    if path.exists():
        for given in inputs:
            given = Path(given)
            if given.exists() and (os.path.samefile(given, path) or _inside(path, given)):
                raise OutputError(f"{path}: the {what} is one of the inputs; it would be overwritten")
        if is_image_name(path):
            raise OutputError(f"{path}: the {what} would overwrite an image; choose another name")


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` is an image the command would read from `folder`."""
    if not folder.is_dir() or not is_image_name(path):
        return False
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


class InertStream:
    """A text stream whose writes cannot drive the terminal: control characters other than line
    ends, carriage returns (progress lines) and tabs are written as \\xNN, whatever message a
    file name or an exception put them in. Everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        self.wrapped.write(text.translate(KEEP_LINES))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self.wrapped, name)


def printable_streams() -> None:
    """Let stdout and stderr print any path: undecodable bytes in a file name become \\xNN, and
    control characters cannot reach the terminal (`InertStream`). A windowed build has none."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None or isinstance(stream, InertStream):
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
        setattr(sys, name, InertStream(stream))


def say_not_used(path: Path, reason: str, verb: str = "left out") -> None:
    """One line on stderr for a file a command did not use: its name (on one line) and why."""
    print(f"{verb} {terminal_path(path)}: {reason}", file=sys.stderr)


def interrupt_on_sigterm() -> None:
    """A SIGTERM (a service stopping, `kill`) interrupts like Ctrl-C does."""

    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError, OSError):  # not the main thread, or a platform without it
        signal.signal(signal.SIGTERM, interrupt)
