import csv

import pytest
import torch
from helpers import CLASSES, run_bloodcell, seed_model_file

from model.modelfile.torch_file import read_info
from model.review.export import header


def bloodcell(*args, timeout=600):
    return run_bloodcell(*args, timeout=timeout)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("models") / "small.safetensors"
    return seed_model_file(path, size=(80, 60))


@pytest.mark.slow
def test_train_records_its_settings_and_refuses_a_split_it_cannot_make(real_train_subset, real_test_subset, tmp_path):
    out = tmp_path / "cli.safetensors"
    common = ["train", real_train_subset, "--arch", "seed", "--size", "48x48", "--bs", "16", "--epochs", "1"]
    refused = bloodcell(*common, "--valid", real_test_subset, "--split-by-cell", "--out", out)
    assert refused.returncode == 2 and "no split to make" in refused.stderr
    assert not out.exists()
    colour = ["--stain", "0.3", "--colour-cast", "8"]
    done = bloodcell(*common, *colour, "--valid", real_test_subset, "--no-tta", "--mixup", "0.3", "--out", out)
    assert done.returncode == 0, done.stderr
    info = read_info(out)
    assert info.test_time_views == "none"
    assert info.training["settings"]["test_time_augmentation"] is False
    assert info.training["settings"]["mixup"] == 0.3
    augmentation = info.training["settings"]["augmentation"]
    assert augmentation | {"stain": 0.3, "colour_cast": 8.0} == augmentation
    assert info.policy.width == info.policy.height == 48


@pytest.mark.slow
def test_classify_writes_a_row_per_image_and_per_bad_file(bad_corpus, small_model, tmp_path):
    folder = next(iter(bad_corpus.values()))[0].parent
    out = tmp_path / "out.csv"
    done = bloodcell("classify", folder, "--model", small_model, "--csv", out)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == header(CLASSES)  # the one export schema (model.review.export)
    assert all(len(row["model_sha256"]) == 64 and row["model"] for row in rows)
    by_name = {row["path"].rsplit("/", 1)[-1]: row for row in rows}
    assert set(by_name) == set(bad_corpus)
    for name, (_, ok) in bad_corpus.items():
        row = by_name[name]
        assert (row["predicted"] in CLASSES) == ok, row
        assert bool(row["error"]) != ok
    good = sum(ok for _, ok in bad_corpus.values())
    assert f"classified {good} images" in done.stdout
    assert "Traceback" not in done.stderr
    counts = {c: int(done.stdout.split(c)[1].split()[0]) for c in CLASSES}
    assert sum(counts.values()) == good


@pytest.mark.slow
def test_evaluate_reports_accuracy_and_a_confusion_matrix(real_test_subset, small_model):
    done = bloodcell("evaluate", real_test_subset, "--model", small_model)
    assert done.returncode == 0, done.stderr
    assert "Accuracy:" in done.stdout and "/32 images" in done.stdout
    assert "Confusion matrix" in done.stdout


@pytest.mark.slow
def test_a_bad_model_file_is_a_clear_error(tmp_path, real_test_subset):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("nonsense")
    done = bloodcell("classify", real_test_subset, "--model", bad, "--csv", tmp_path / "x.csv")
    assert done.returncode == 2
    assert "bad.safetensors" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_no_message_can_drive_the_terminal(tmp_path):
    # Any error naming a file repeats its name; an escape sequence in it (here one that retitles
    # the terminal window) is printed as text, and the message keeps its one line.
    bad = tmp_path / "x\x1b]0;pwned\x07.safetensors"
    bad.write_text("nonsense")
    done = bloodcell("info", bad)
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "x\\x1b]0;pwned\\x07.safetensors" in done.stderr and len(done.stderr.splitlines()) == 1


@pytest.mark.slow
def test_combine_writes_an_ensemble_with_its_test_figures(small_model, real_test_subset, tmp_path):
    out = tmp_path / "ensemble.safetensors"
    done = bloodcell("combine", small_model, small_model, "--test", real_test_subset, "--out", out)
    assert done.returncode == 0, done.stderr
    info = read_info(out)
    assert info.is_ensemble and len(info.members) == 2
    assert info.metrics["test"]["images"] == 32
    refused = bloodcell("combine", small_model, "--out", tmp_path / "one.safetensors")
    assert refused.returncode == 2 and "at least two" in refused.stderr


def test_info_prints_the_metadata(small_model):
    done = bloodcell("info", small_model)
    assert done.returncode == 0
    assert '"architecture": "seed"' in done.stdout


def test_every_subcommand_is_routed_to_the_command_line_not_the_window():
    """`bloodcell WORD` opens the window unless WORD is a listed command: a subcommand missing
    from the list would open a window instead of running."""
    import argparse

    from model.cli.guard import COMMANDS
    from model.cli.main import build_parser

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == set(COMMANDS)


def test_help_is_one_usage_block_that_names_the_window_too():
    done = bloodcell("--help")
    assert done.returncode == 0
    assert done.stdout.count("usage:") == 1
    assert "open the window" in done.stdout and "classify" in done.stdout


def test_a_frozen_program_calls_itself_by_its_own_name(monkeypatch):
    from model.cli.main import build_parser

    monkeypatch.setattr("sys.frozen", True, raising=False)
    monkeypatch.setattr("sys.argv", ["/opt/BloodCellReview/bloodcell-review-cli", "--help"])
    text = build_parser().format_help()
    assert text.startswith("usage: bloodcell-review-cli ") and "usage: bloodcell " not in text


@pytest.mark.parametrize("command", ["classify", "evaluate", "info", "match-lab", "session info"])
def test_an_input_that_does_not_exist_fails_the_command(tmp_path, command):
    missing = tmp_path / "no-such-folder"
    out = tmp_path / "out.csv"
    extra = {"classify": ["--csv", out], "match-lab": ["--out", tmp_path / "m.safetensors"]}.get(command, [])
    done = bloodcell(*command.split(), missing, *extra)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no-such-folder: no such file or folder" in done.stderr
    assert not out.exists()


@pytest.mark.slow
def test_match_lab_refuses_a_per_picture_model_before_promising_anything(tmp_path):
    from helpers import real_data

    done = bloodcell("match-lab", real_data() / "TEST_SIMPLE", "--out", tmp_path / "m.safetensors")
    assert done.returncode == 2
    assert "normalises each picture by itself" in done.stderr
    assert "matching" not in done.stdout
