"""Validation sets made of whole cells: the copies of one cell (blood-cells' augmented
duplicates, near-duplicate groups) never straddle training and validation."""

from __future__ import annotations

import numpy as np


def split_whole_groups(groups: np.ndarray, labels: list[str], valid_pct: float, seed: int) -> list[int]:
    """Indices of a validation set made of whole groups, drawn at random within each class;
    a group goes in when at least half of it fits under `valid_pct` of its class, and each
    class keeps at least one group for training. Raises ValueError when no group goes in."""
    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels)
    chosen: list[np.ndarray] = []
    for label in sorted(set(labels)):
        members = np.flatnonzero(labels_array == label)
        class_groups, sizes = np.unique(groups[members], return_counts=True)
        target, count, taken = valid_pct * len(members), 0, []
        for index in rng.permutation(len(class_groups))[: len(class_groups) - 1]:
            if count + sizes[index] / 2 <= target:
                taken.append(class_groups[index])
                count += sizes[index]
        chosen.append(members[np.isin(groups[members], taken)])
    indices = np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)
    if len(indices) == 0:
        raise ValueError("the images cannot be split by cell: in every class they all look like copies of one cell")
    return indices.tolist()
