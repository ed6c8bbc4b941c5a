"""Small formatting helpers shared by the terminal and the GUI (no heavy imports)."""

from __future__ import annotations

import math
from pathlib import Path

# Control characters (C0, DEL, C1) as escapes: a file name may hold a newline, which would forge
# a line of output, or an escape sequence, which a terminal would obey.
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROL = [*range(0x20), *range(0x7F, 0xA0)]
ONE_LINE = str.maketrans({code: _NAMED.get(chr(code), f"\\x{code:02x}") for code in _CONTROL})
# The same for whole messages, whose own line ends and progress returns are kept.
KEEP_LINES = str.maketrans({code: f"\\x{code:02x}" for code in _CONTROL if chr(code) not in _NAMED})


# Characters that reorder the text around them (bidirectional embeddings, overrides, isolates and
# marks): in a report they could make "01" read "10" or move a name; shown as [U+202E] instead.
DIRECTION_CONTROLS = str.maketrans(
    {code: f"[U+{code:04X}]" for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}
)


def visible_direction_marks(text: str) -> str:
    return text.translate(DIRECTION_CONTROLS)


def one_line(text: str) -> str:
    """Text that prints as one line and drives no terminal: control characters escaped."""
    return text.translate(ONE_LINE)


def display_path(path: Path) -> str:
    """A path as text, losslessly: bytes that are not valid UTF-8 in a file name (kept by
    Python as surrogates) are written as \\xNN escapes instead of failing the whole export."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def terminal_path(path: Path) -> str:
    """A path for a line of terminal output: `display_path`, on one line, driving nothing."""
    return one_line(display_path(path))


def format_seconds(seconds: float) -> str:
    """1:05, 1:02:03, or --:-- when unknown."""
    if not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
