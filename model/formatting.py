"""Small formatting helpers shared by the terminal and the GUI (no heavy imports)."""

from __future__ import annotations

import math


def format_seconds(seconds: float) -> str:
    """1:05, 1:02:03, or --:-- when unknown."""
    if not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
