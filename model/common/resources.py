"""Where the shipped files are: beside the packages, or inside a PyInstaller bundle.

Imports nothing heavy: the GUI asks for these paths before torch is loaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def default_model_path() -> Path:
    override = os.environ.get("BLOODCELL_DEFAULT_MODEL")
    return Path(override) if override else resources_dir() / "default_model.safetensors"
