"""Random chains of allowed operators spliced into the shipped default's graph (graph_fuzz.py, in
a process of its own): no crash, every refusal names the file, peak memory within 2 GB, and no
file costs more than 3 times the unmodified default's time for a few images."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import real_data

FUZZ = Path(__file__).with_name("graph_fuzz.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_fuzzed_graphs_never_crash_exhaust_or_go_unnamed():
    images = sorted((real_data() / "TEST_SIMPLE").rglob("*.jpeg"))[:4]
    done = subprocess.run(
        [sys.executable, str(FUZZ), "80", "7", *map(str, images)],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["crashes"] == [], summary["crashes"][:3]
    assert summary["unnamed"] == [], summary["unnamed"][:3]
    assert summary["classified"] + summary["refused"] == 80
    assert summary["peak_mb"] <= 2048, summary
    assert summary["slowest_s"] <= 3 * summary["normal_s"], summary
    assert "onnxruntime" not in done.stderr, done.stderr[-1000:]  # the runtime's own log stays silent
