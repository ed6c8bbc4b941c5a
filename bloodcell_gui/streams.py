"""Windowed (frozen) builds start with sys.stdout and sys.stderr set to None; libraries that
print (fastprogress, logging, warnings) would then crash. Give them somewhere to write."""

from __future__ import annotations

import os
import sys


def ensure_standard_streams() -> None:
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the app
