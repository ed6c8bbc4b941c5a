"""Shared by the benchmarks: where the data are, which model, how to report."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from tools.dev_data import BLOOD_CELLS

REPO = Path(__file__).resolve().parent.parent
DATA = BLOOD_CELLS


def parser(description: str) -> argparse.ArgumentParser:
    from model.common.resources import default_model_path

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", type=Path, default=default_model_path())
    p.add_argument("--data", type=Path, default=DATA)
    return p


def image_files(folder: Path) -> list[Path]:
    from model.images.reading import is_image_name

    return sorted(p for p in folder.rglob("*") if is_image_name(p))


def timed(function: Callable[[], object], repeat: int = 1) -> float:
    """Median wall time of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def report(name: str, value: float, unit: str) -> None:
    print(f"{name:<48} {value:10.1f} {unit}")
