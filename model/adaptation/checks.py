"""Whether a lab's verified cells can adapt a model, in words: kept apart from model.adaptation.finetune
so that the window checks them as the technician opens the dialog, without loading torch on
its thread."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from model.review.verified import VerifiedCell

# Below this many verified cells in all there is nothing to learn a lab from.
MIN_CELLS = 4
# Classes with fewer cells than this are named as thin in the dialog and the CLI.
SUGGESTED_CELLS_PER_CLASS = 10


def coverage_problems(cells: Sequence[VerifiedCell], classes: list[str]) -> tuple[list[str], list[str]]:
    """(why adaptation cannot run, what is thin but allowed), in words."""
    counts = Counter(cell.label for cell in cells)
    unknown = sorted(set(counts) - set(classes))
    refusals = []
    if unknown:
        refusals.append(f"classes the model does not know: {', '.join(unknown)}")
    if sum(counts[name] for name in classes) < MIN_CELLS:
        refusals.append(f"at least {MIN_CELLS} verified cells are needed (there are {sum(counts.values())})")
    elif sum(1 for name in classes if counts[name]) < 2:
        refusals.append("cells of at least two classes are needed, or the network only learns to say one class")
    missing = [name for name in classes if counts[name] == 0]
    thin = [f"{name} ({counts[name]})" for name in classes if 0 < counts[name] < SUGGESTED_CELLS_PER_CLASS]
    warnings = []
    if missing:
        warnings.append(
            f"no verified cell of {', '.join(missing)}: the adapted model keeps what it knew of them as far as "
            "it can, but they are not scored"
        )
    if thin:
        warnings.append(f"fewer than {SUGGESTED_CELLS_PER_CLASS} cells of {', '.join(thin)}: their scores are rough")
    return refusals, warnings
