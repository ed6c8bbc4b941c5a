"""BloodCell Review: everything but training, with torch, torchvision and fastai unimportable
(as in its frozen bundle), giving the full build's answers."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import edited_default, real_data, rotated_classes, run_bloodcell

REPO = Path(__file__).resolve().parents[2]
BLOCK = "import sys\nfor name in ('torch', 'torchvision', 'fastai'): sys.modules[name] = None\n"


def run_review(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`bloodcell ARGS` as BloodCell Review runs it."""
    script = BLOCK + "from bloodcell_gui.entry import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=600, env=env, cwd=REPO
    )


def rows(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8") as stream:
        return {row["path"]: row for row in csv.DictReader(stream)}


@pytest.mark.slow
def test_review_classifies_like_the_torch_backend_of_the_full_build(tmp_path):
    images = real_data() / "TEST_SIMPLE"
    review, full = tmp_path / "review.csv", tmp_path / "full.csv"
    done = run_review("classify", str(images), "--csv", str(review))
    assert done.returncode == 0, done.stderr
    env = dict(os.environ, BLOODCELL_BACKEND="torch")
    reference = subprocess.run(
        [sys.executable, "-m", "bloodcell_gui.entry", "classify", str(images), "--csv", str(full)],
        capture_output=True, text=True, timeout=600, env=env, cwd=REPO,
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    ours, theirs = rows(review), rows(full)
    assert len(ours) == 71 and ours.keys() == theirs.keys()
    assert {p: r["predicted"] for p, r in ours.items()} == {p: r["predicted"] for p, r in theirs.items()}
    assert {p: r["unidentified"] for p, r in ours.items()} == {p: r["unidentified"] for p, r in theirs.items()}
    columns = [c for c in next(iter(ours.values())) if c.startswith("p_")]
    assert columns, "the CSV has probability columns"
    ours_p = np.array([[float(r[c]) for c in columns] for r in ours.values()])
    theirs_p = np.array([[float(r[c]) for c in columns] for r in theirs.values()])
    assert np.abs(ours_p - theirs_p).max() < 1e-4


def test_review_refuses_training_and_says_where_it_is_done(tmp_path):
    for command in (
        ["train", str(real_data() / "TEST_SIMPLE"), "--out", str(tmp_path / "m.safetensors")],
        ["finetune", str(real_data() / "TEST_SIMPLE"), "--out", str(tmp_path / "m.safetensors")],
        ["convert", "resources/default_model.safetensors", "--out", str(tmp_path / "m.safetensors")],
    ):
        done = run_review(*command)
        assert done.returncode == 2, done.stderr
        assert "full BloodCell" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "m.safetensors").exists()


def test_review_help_lists_only_what_it_can_do_under_its_own_name(tmp_path):
    done = run_review("--help")
    assert done.returncode == 0
    assert done.stdout.count("usage:") == 1
    for command in ("classify", "evaluate", "session", "info"):
        assert command in done.stdout
    for command in ("train", "finetune", "combine", "calibrate", "match-lab", "convert"):
        assert f"{command}," not in done.stdout and f" {command} " not in done.stdout


def test_review_refuses_a_graph_that_is_not_its_weights_network(tmp_path):
    """Without torch the graph is checked against the answers the file recorded."""
    crafted = edited_default(tmp_path / "rotated.safetensors", rotated_classes)
    csv_file = tmp_path / "x.csv"
    done = run_review("classify", str(real_data() / "TEST_SIMPLE"), "--model", str(crafted), "--csv", str(csv_file))
    assert done.returncode == 2 and str(crafted) in done.stderr and "not the same network" in done.stderr
    assert not csv_file.exists()


@pytest.mark.slow
def test_review_explains_an_older_model_file_without_graphs(tmp_path):
    from model.common.resources import default_model_path
    from model.modelfile.torch_file import load, save

    shipped = load(default_model_path())
    old = save(tmp_path / "old model.safetensors", shipped.module, shipped.info, graphs=False)
    done = run_review(
        "classify", str(real_data() / "TEST_SIMPLE"), "--model", str(old), "--csv", str(tmp_path / "x.csv")
    )
    assert done.returncode == 2
    assert str(old) in done.stderr and "bloodcell convert" in done.stderr and "Traceback" not in done.stderr
    # the full build still runs it, on torch
    assert run_bloodcell("evaluate", real_data() / "TEST_SIMPLE", "--model", old).returncode == 0


@pytest.mark.slow
def test_review_window_classifies_exports_and_offers_no_training(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "tests" / "gui"), str(REPO / "tests"), str(REPO)])
    runner = REPO / "tests" / "gui" / "review_edition_gui.py"
    done = subprocess.run(
        [sys.executable, str(runner), str(real_data() / "TEST_SIMPLE"), str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.split("REPORT ", 1)[1])
    assert report["title"].startswith("BloodCell Review")
    assert report["device"] == "CPU (ONNX Runtime)"
    # 71 files, two of which repeat another's picture: the window counts each picture once
    assert report["rows"] == 69 and report["csv"] and report["pdf"]
    assert (tmp_path / "review.pdf").read_bytes().startswith(b"%PDF")
    assert len(rows(tmp_path / "review.csv")) == 69
    assert "Train model…" not in report["menu"] and "Adapt to this lab…" not in report["menu"]
    assert "Train or adapt a model…" in report["menu"] and "Verified cells…" in report["menu"]
    assert not report["torch_loaded"]
