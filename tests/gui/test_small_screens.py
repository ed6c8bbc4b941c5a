"""On a lab PC's screen (1366x768, 1024x700) the window and the wizard open inside it, and no
state (a heatmap cell or a class clicked, Show all, each tab) widens the window past it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import real_data

PROBE = Path(__file__).with_name("small_screen_probe.py")


def screen_config(folder: Path, width: int, height: int) -> Path:
    path = folder / f"screen-{width}x{height}.json"
    screen = {"name": "lab", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96, "dpr": 1}
    path.write_text(json.dumps({"screens": [screen]}))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1024, 700)])
def test_every_state_fits_the_screen(tmp_path, tiny_model, width, height):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={screen_config(tmp_path, width, height)}",
        "BLOODCELL_DEFAULT_MODEL": str(tiny_model),
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    done = subprocess.run(
        [sys.executable, str(PROBE), str(real_data() / "TEST_SIMPLE"), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    states = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [s["state"] for s in states][:5] == [
        "first window",
        "classified",
        "heatmap cell clicked",
        "class clicked",
        "show all",
    ]
    assert states[-1]["state"] == "wizard"
    for state in states:
        assert state["size"][0] <= width and state["size"][1] <= height, state
        assert state["minimum"][0] <= width and state["minimum"][1] <= height, state
        assert not state["problems"], state
