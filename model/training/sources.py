"""Training on several sources (labs) at once.

The sources' images become one list, each image remembering its source. A share held out of
every source by file name (`model.training.holdout`) is set aside before anything else, so that no
training or selection ever sees it. Validation is drawn within each source, as whole cells
where a source holds copies of one cell (augmented data sets) and image by image where it does
not, so every lab is represented in it. Training samples every (source, class) pair with the
same total weight, so a large lab or a common class does not drown the others.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.images.scan import DatasetScan
from model.training.checks import source_class_problems
from model.training.holdout import describe_holdout, is_held_out
from model.training.splits import split_whole_groups


@dataclass
class MergedSources:
    scan: DatasetScan  # every usable image of every source, less the held-out share
    source_of: np.ndarray  # the source index of each image in `scan.files`
    scans: list[DatasetScan]
    held_out: list[int] = field(default_factory=list)  # images set aside, per source
    holdout_percent: int = 0

    def summary(self) -> dict:
        sources = []
        for i, scan in enumerate(self.scans):
            counts = Counter(label for (_, label), s in zip(self.scan.files, self.source_of, strict=True) if s == i)
            sources.append(
                {
                    "root": str(scan.root),
                    "counts": {name: counts.get(name, 0) for name in self.scan.classes},
                    "held_out": self.held_out[i],
                    "bad_files": len(scan.bad_files),
                }
            )
        summary: dict = {"sources": sources}
        if self.holdout_percent:
            summary["held_out_rule"] = describe_holdout(self.holdout_percent)
        return summary


def merge_sources(scans: list[DatasetScan], holdout_percent: int = 0) -> MergedSources:
    """One list of images from sources with the same classes; raises ValueError otherwise."""
    classes = scans[0].classes
    problems = source_class_problems(scans[0], scans[1:])
    if problems:
        raise ValueError("; ".join(problems))
    files: list[tuple[Path, str]] = []
    source_of: list[int] = []
    held_out = []
    for index, scan in enumerate(scans):
        kept = [
            (path, label) for path, label in scan.files if not (holdout_percent and is_held_out(path, holdout_percent))
        ]
        held_out.append(len(scan.files) - len(kept))
        files += kept
        source_of += [index] * len(kept)
    sizes: Counter = Counter()
    for scan in scans:
        sizes.update(scan.image_sizes)
    merged = DatasetScan(
        root=scans[0].root,
        classes=list(classes),
        files=files,
        bad_files=[bad for scan in scans for bad in scan.bad_files],
        image_sizes=dict(sizes),
    )
    return MergedSources(merged, np.array(source_of, dtype=int), scans, held_out, holdout_percent)


def split_within_sources(
    groups: np.ndarray, labels: list[str], sources: np.ndarray, valid_pct: float, seed: int
) -> list[int]:
    """Validation indices: `valid_pct` of each source's images, drawn as whole groups (cells)."""
    chosen: list[int] = []
    for source in np.unique(sources):
        members = np.flatnonzero(sources == source)
        local = split_whole_groups(groups[members], [labels[i] for i in members], valid_pct, seed)
        chosen += members[local].tolist()
    return sorted(chosen)


def balanced_weights(labels: list[str], sources: np.ndarray, indices: list[int]) -> np.ndarray:
    """A sampling weight per training image: each (source, class) pair weighs the same in all."""
    pairs = [(int(sources[i]), labels[i]) for i in indices]
    counts = Counter(pairs)
    return np.array([1.0 / counts[pair] for pair in pairs])
