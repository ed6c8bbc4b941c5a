"""Whether an adapted model is better, judged honestly on the held-back cells.

"Better" is a claim a technician acts on (the Adapt dialog ticks *use it now*; the CLI says so):
it needs every class of the model held back (a class not held back is not judged, never
better), no class worse than before, and the balanced accuracy higher. Held-back cells are whole
pictures apart from the training ones: copies (the same file, or the same cell turned or
shifted) stay on one side (model.images.near_duplicates), so a score on them is not a score on copies
of what was learnt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.evaluation.evaluate import Evaluation

# A class this many times larger than the smallest makes the held-back score mostly its own.
IMBALANCE = 20
# Below this share of distinct pictures among the cells, most cells are copies of others.
DISTINCT_SHARE = 0.5


@dataclass(frozen=True)
class Verdict:
    better: bool
    reason: str


def judge(before: Evaluation | None, after: Evaluation | None, classes: Sequence[str]) -> Verdict:
    """The verdict on before and after, measured on the same held-back cells."""
    if before is None or after is None or after.total == 0:
        return Verdict(False, "not judged: no cells could be held back")
    support = after.confusion.sum(axis=1)
    missing = [name for name, count in zip(classes, support, strict=True) if count == 0]
    if missing:
        return Verdict(False, f"not judged: no held-back cell of {', '.join(missing)}")
    recall_before = np.diag(before.confusion) / np.maximum(before.confusion.sum(axis=1), 1)
    recall_after = np.diag(after.confusion) / np.maximum(support, 1)
    worse = [
        f"{name} ({b:.0%} → {a:.0%})" for name, b, a in zip(classes, recall_before, recall_after, strict=True) if a < b
    ]
    if worse:
        return Verdict(False, f"not better: worse on {', '.join(worse)}")
    if not after.balanced_accuracy > before.balanced_accuracy:
        return Verdict(False, "not better: the balanced accuracy did not rise")
    return Verdict(
        True,
        f"better: balanced accuracy {before.balanced_accuracy:.1%} → {after.balanced_accuracy:.1%}, no class worse",
    )


def input_warnings(labels: Sequence[str], groups: Sequence[int], without_cell: int) -> list[str]:
    """What about the cells makes a judgement on them weak, in words."""
    warnings = []
    distinct = len(set(groups))
    if labels and distinct < DISTINCT_SHARE * len(labels):
        warnings.append(
            f"{len(labels)} cells are copies of only {distinct} distinct pictures: they are held back and "
            "judged as whole pictures"
        )
    counts = Counter(labels)
    if len(counts) >= 2 and max(counts.values()) > IMBALANCE * min(counts.values()):
        largest, smallest = max(counts, key=lambda label: counts[label]), min(counts, key=lambda label: counts[label])
        warnings.append(
            f"{counts[largest]} {largest} cells against {counts[smallest]} {smallest}: the network mostly learns "
            f"{largest}, and the score mostly measures it"
        )
    if without_cell:
        warnings.append(
            f"{without_cell} pictures without a stained white cell (blank, noise or not a smear) were left out"
        )
    return warnings
