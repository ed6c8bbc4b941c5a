"""When a classified image needs a technician: one rule for the review bin, the evaluation's
"accepted without review" figures and every export."""

from __future__ import annotations

# Below this confidence an answer goes to the review bin (a session may set its own).
DEFAULT_REVIEW_THRESHOLD = 0.95


def is_unsure(confidence: float | None, networks_agree: bool, review_threshold: float) -> bool:
    """The answer needs a technician: its confidence is below `review_threshold`, or an
    ensemble's networks name different classes (model.unfamiliar.statistics.NETWORKS_DISAGREE)."""
    return (confidence or 0.0) < review_threshold or not networks_agree
