"""Ground truth from class folders: an image under `<root>/<CLASS>/` is labelled CLASS, for any
root given whose subfolders are named like the model's classes (compared ignoring case)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def ground_truth(path: Path, root: Path, classes: list[str]) -> int | None:
    """The class index named by the first folder below `root` on `path`, if it is a class."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None
    if len(parts) < 2:
        return None
    lookup = {name.casefold(): i for i, name in enumerate(classes)}
    return lookup.get(parts[0].casefold())


def has_class_folders(folder: Path, classes: list[str]) -> bool:
    """Whether any subfolder of `folder` is named like one of `classes`."""
    from model.images.scan import class_folders

    try:
        names = {name.casefold() for name in class_folders(folder)}
    except OSError:
        return False
    return bool(names & {c.casefold() for c in classes})


class FolderTruth:
    """The class each image's folder names, for the given inputs (files and folders)."""

    def __init__(self, inputs: Iterable[Path], classes: list[str]) -> None:
        self.classes = list(classes)
        self.roots = [Path(p) for p in inputs if Path(p).is_dir() and has_class_folders(Path(p), self.classes)]

    def __call__(self, path: Path) -> int | None:
        for root in self.roots:
            index = ground_truth(path, root, self.classes)
            if index is not None:
                return index
        return None
