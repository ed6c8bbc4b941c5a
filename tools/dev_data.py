"""Where the development data sets are (for tests, benchmarks and scripts; the app never
reads them). BLOODCELL_DATA_ROOT moves all of them, BLOODCELL_DATA the blood-cells set alone."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("BLOODCELL_DATA_ROOT", _REPO.parent / "shared" / "data"))
BLOOD_CELLS = Path(os.environ.get("BLOODCELL_DATA", DATA_ROOT / "blood-cells"))
PBC = DATA_ROOT / "pbc"
