"""A fixed, recorded held-out share of a source: which images no training or selection touches.

The rule depends on the file name alone (not on the folder, the order of a listing or a random
seed), so anyone holding a copy of the data can rebuild the same split, and a model file can
record it in a sentence.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HOLDOUT_RULE = "SHA-256 of the file name, first 8 bytes as an integer, mod 100 < {percent}"


def is_held_out(path: Path | str, percent: int = 20) -> bool:
    digest = hashlib.sha256(Path(path).name.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def describe_holdout(percent: int = 20) -> str:
    return HOLDOUT_RULE.format(percent=percent)
