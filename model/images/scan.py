"""Find image files: in a class-per-folder tree (with every unusable file and its reason),
or in any mix of files and folders for classification."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from model.common.cores import worker_threads
from model.images.reading import ImageError, describe_os_error, is_image_name, load_rgb


@dataclass(frozen=True)
class BadFile:
    path: Path
    reason: str


@dataclass
class DatasetScan:
    """What a class-per-folder tree holds: usable images per class, and what was left out."""

    root: Path
    classes: list[str]
    files: list[tuple[Path, str]] = field(default_factory=list)
    bad_files: list[BadFile] = field(default_factory=list)
    image_sizes: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.classes, 0)
        for _, label in self.files:
            counts[label] += 1
        return counts

    def problems(self) -> list[str]:
        """Reasons this tree cannot be trained on; empty when it can."""
        problems = []
        if len(self.classes) < 2:
            found = ", ".join(self.classes) or "none"
            problems.append(f"{self.root}: at least two class subfolders are needed (found: {found})")
        problems += [f"class {name!r} has no usable images" for name, n in self.counts.items() if n == 0]
        folded: dict[str, str] = {}
        for name in self.classes:
            if name.casefold() in folded:
                problems.append(f"class folders {folded[name.casefold()]!r} and {name!r} differ only in case")
            folded[name.casefold()] = name
        return problems

    def summary(self) -> dict:
        return {
            "root": str(self.root),
            "counts": self.counts,
            "bad_files": len(self.bad_files),
            "image_sizes": {f"{w}x{h}": n for (w, h), n in sorted(self.image_sizes.items())},
        }


def walk_images(
    folder: Path,
    on_error: Callable[[BadFile], None],
    visited: set[tuple[int, int]] | None = None,
    via_link: bool = False,
    on_other: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Image files below `folder`, sorted, recursively; unreadable folders go to `on_error`.

    Linked folders are followed, but each folder is listed once however many links lead to
    it (`visited` holds the folders seen, across calls that share it), so a link back up the
    tree ends instead of listing its images again and again. Only regular files are yielded:
    a pipe, device or socket with an image's name is reported, never opened. Files that are
    not images by their name (notes, PDFs) go to `on_other`, when given.
    """
    visited = set() if visited is None else visited
    try:
        identity = _folder_identity(folder)
        if identity in visited:
            if via_link:  # a real subfolder given as an input too is simply not listed twice
                on_error(BadFile(folder, "a link to a folder already listed (a loop or a duplicate); skipped"))
            return
        visited.add(identity)
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        on_error(BadFile(folder, f"the folder cannot be read ({describe_os_error(error)})"))
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            yield from walk_images(path, on_error, visited, via_link=entry.is_symlink(), on_other=on_other)
        elif not is_image_name(path):
            if on_other is not None and not entry.name.startswith("."):
                on_other(path)
        else:
            problem = not_a_regular_file(path)
            if problem:
                on_error(BadFile(path, problem))
            else:
                yield path


def _folder_identity(folder: Path) -> tuple[int, int]:
    status = os.stat(folder)
    return status.st_dev, status.st_ino


def not_a_regular_file(path: Path) -> str | None:
    """Why `path` cannot be read as a file (without opening it), or None when it can."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return describe_os_error(error)
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "this is a folder, not an image file"
    return "not a regular file (a pipe, device or socket), so it is not read"


def expand_inputs(
    paths: Iterable[Path | str], on_other: Callable[[Path], None] | None = None
) -> Iterator[Path | BadFile]:
    """Files as given and images found in folders, in order; an input that cannot be read as
    a file is a BadFile with the reason. A folder reached twice is listed once. Files in
    folders that are not images by their name go to `on_other`, when given."""
    failures: list[BadFile] = []
    visited: set[tuple[int, int]] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            with contextlib.suppress(OSError):
                if _folder_identity(path) in visited:
                    continue  # a folder given again, or inside one given before: listed once already
            for found in walk_images(path, failures.append, visited, on_other=on_other):
                yield from _drain(failures)
                yield found
            yield from _drain(failures)
        else:
            problem = not_a_regular_file(path)
            yield BadFile(path, problem) if problem else path


def _drain(failures: list[BadFile]) -> Iterator[BadFile]:
    while failures:
        yield failures.pop(0)


def class_folders(root: Path) -> list[str]:
    """Names of `root`'s subfolders, which name the classes, sorted."""
    return sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith("."))


def scan_dataset(
    root: Path | str,
    *,
    verify: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> DatasetScan:
    """List a class-per-folder tree; with `verify`, decode each image and set aside bad ones.

    Raises NotADirectoryError / PermissionError for an unusable root, since then there is
    nothing to report per file.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    scan = DatasetScan(root=root, classes=class_folders(root))
    visited: set[tuple[int, int]] = set()
    candidates = [
        (path, label) for label in scan.classes for path in walk_images(root / label, scan.bad_files.append, visited)
    ]
    if not verify:
        scan.files = candidates
        return scan
    with ThreadPoolExecutor(max_workers=worker_threads()) as pool:
        for done, ((path, label), outcome) in enumerate(
            zip(candidates, pool.map(_image_size_or_error, (p for p, _ in candidates)), strict=True),
            start=1,
        ):
            if isinstance(outcome, BadFile):
                scan.bad_files.append(outcome)
            else:
                scan.files.append((path, label))
                scan.image_sizes[outcome] = scan.image_sizes.get(outcome, 0) + 1
            if on_progress and (done % 64 == 0 or done == len(candidates)):
                on_progress(done, len(candidates))
            if should_stop():
                pool.shutdown(cancel_futures=True)
                break
    return scan


def _image_size_or_error(path: Path) -> tuple[int, int] | BadFile:
    try:
        return load_rgb(path).size
    except ImageError as error:
        return BadFile(path, error.reason)
