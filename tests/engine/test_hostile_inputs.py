"""Hostile and unlucky inputs to the command line: each ends, under a time limit, with a
sentence naming the file and the reason and an exit code that says what happened; nothing good
is lost or overwritten. Everything here is made by the tests."""

import csv
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest
import torch
from helpers import CLASSES, real_data, run_bloodcell, seed_model_file

from model.common.atomic import atomic_write_bytes

LIMIT = 240


def bloodcell(*args, timeout=LIMIT, cwd=None):
    done = run_bloodcell(*args, timeout=timeout, cwd=cwd)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def model(seed_model_file):
    return seed_model_file


@pytest.fixture
def four_images(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for source in sorted((real_data() / "TEST_SIMPLE" / "MONOCYTE").iterdir()):
        shutil.copy(source, folder / source.name)
    return folder


def rows(path):
    return list(csv.DictReader(path.open(encoding="utf-8")))


@pytest.mark.slow
def test_folder_links_back_up_the_tree_are_listed_once(model, four_images, tmp_path):
    (four_images / "back").symlink_to("..")
    (four_images / "sub").mkdir()
    (four_images / "sub" / "up").symlink_to("../..")
    out = tmp_path / "out.csv"
    code, _, stderr = bloodcell("classify", four_images, "--model", model, "--csv", out)
    assert code == 0
    assert sorted(r["path"] for r in rows(out) if r["predicted"]) == sorted(str(p) for p in four_images.glob("*.jpeg"))
    assert "already listed" in stderr


@pytest.mark.slow
def test_named_pipes_are_reported_never_opened(model, four_images, tmp_path):
    os.mkfifo(four_images / "x.jpg")
    out = tmp_path / "out.csv"
    code, _, stderr = bloodcell("classify", four_images, four_images / "x.jpg", "--model", model, "--csv", out)
    assert code == 0 and "x.jpg" in stderr and "not a regular file" in stderr
    code, _, stderr = bloodcell("classify", four_images, "--model", four_images / "x.jpg", "--csv", out)
    assert code == 2 and "x.jpg" in stderr and "not a regular file" in stderr
    train = tmp_path / "train"
    for name in ("A", "B"):
        shutil.copytree(four_images, train / name, ignore=shutil.ignore_patterns("x.jpg"))
        os.mkfifo(train / name / "x.jpg")
    code, _, stderr = bloodcell("train", train, "--epochs", "1", "--size", "32x32", "--out", tmp_path / "t.safetensors")
    assert "x.jpg" in stderr and "not a regular file" in stderr


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_gets_its_row(model, four_images, tmp_path):
    odd = os.fsencode(four_images) + b"/caf\xe9.jpeg"
    shutil.copy(next(four_images.glob("*.jpeg")), odd)
    (four_images / "self.jpeg").symlink_to("self.jpeg")
    out = tmp_path / "out.csv"
    code, _, stderr = bloodcell("classify", four_images, "--model", model, "--csv", out)
    assert code == 0
    written = {r["path"].rsplit("/", 1)[-1]: r for r in rows(out)}
    assert written["caf\\xe9.jpeg"]["predicted"] in CLASSES
    assert "link loop" in written["self.jpeg"]["error"] and "self.jpeg" in stderr


@pytest.mark.slow
def test_a_file_name_with_a_newline_or_a_terminal_escape_prints_as_one_inert_line(model, four_images, tmp_path):
    # A newline in a name would forge a line of output; ESC [ 2 J would clear the terminal.
    name = "bad\n\x1b[2Jname.jpg"
    (four_images / name).write_bytes(b"")
    (four_images / "ok\tname.jpeg").write_bytes(next(four_images.glob("*.jpeg")).read_bytes())
    out = tmp_path / "out.csv"
    code, _, stderr = bloodcell("classify", four_images, "--model", model, "--csv", out)
    assert code == 0
    assert "\x1b" not in stderr
    skipped = [line for line in stderr.splitlines() if line.startswith("skipped")]
    assert skipped == [f"skipped {four_images}/bad\\n\\x1b[2Jname.jpg: the file is empty (0 bytes)"]
    written = {r["path"].rsplit("/", 1)[-1]: r for r in rows(out)}  # the CSV keeps the real names
    assert written[name]["error"] and written["ok\tname.jpeg"]["predicted"] in CLASSES


@pytest.mark.slow
def test_cells_a_spreadsheet_would_run_are_neutralised(four_images, tmp_path):
    torch.manual_seed(1)
    classes = ["=HYPERLINK(1)", "+B", "-C", "@D"]
    model = seed_model_file(tmp_path / "evil.safetensors", classes=classes, size=(32, 32))
    shutil.copy(next(four_images.glob("*.jpeg")), four_images / "=cmd.jpeg")
    out = tmp_path / "out.csv"
    code, _, _ = bloodcell("classify", "=cmd.jpeg", "--model", model, "--csv", out, cwd=four_images)
    assert code == 0
    header, row = list(csv.reader(out.open(encoding="utf-8")))
    assert header[header.index("confidence") + 1] == "p_=HYPERLINK(1)"  # begins with p: shown as text anyway
    assert row[0] == "'=cmd.jpeg"
    predicted = row[header.index("predicted")]
    assert predicted.startswith("'") and predicted[1:] in classes


@pytest.mark.slow
def test_outputs_are_checked_before_any_work_and_inputs_never_overwritten(model, four_images, tmp_path):
    victim = next(four_images.glob("*.jpeg"))
    before = victim.read_bytes()
    code, _, stderr = bloodcell("classify", victim, "--model", model, "--csv", victim)
    assert code == 2 and "one of the inputs" in stderr and victim.read_bytes() == before
    code, _, stderr = bloodcell("classify", four_images, "--model", model, "--csv", tmp_path)
    assert code == 2 and "names a folder" in stderr
    code, _, stderr = bloodcell("train", four_images, "--out", tmp_path / "missing" / "m.safetensors")
    assert code == 2 and "does not exist" in stderr
    code, _, stderr = bloodcell("classify", four_images, "--model", model, "--csv", "out.csv", "--bs", "0")
    assert code == 2 and "at least 1" in stderr
    code, _, stderr = bloodcell("evaluate", tmp_path / "missing", "--model", model)
    assert code == 2 and f"{tmp_path / 'missing'}: no such file or folder" in stderr, stderr
    code, _, stderr = bloodcell("evaluate", victim, "--model", model)  # evaluate wants a class-per-folder tree
    assert code == 2 and f"{victim}: not a folder" in stderr, stderr
    for bad in (["--valid-pct", "-0.2"], ["--valid-pct", "1"], ["--lr", "nan"], ["--epochs", "0"], ["--bs", "0"]):
        code, _, stderr = bloodcell("train", four_images, *bad, "--out", tmp_path / "m.safetensors")
        assert code == 2 and bad[0] in stderr, (bad, stderr)


@pytest.mark.slow
def test_training_that_cannot_work_says_why(tmp_path, four_images):
    one = tmp_path / "one"
    for name in ("A", "B"):
        (one / name).mkdir(parents=True)
        shutil.copy(next(four_images.glob("*.jpeg")), one / name / "x.jpeg")
    code, _, stderr = bloodcell("train", one, "--epochs", "1", "--size", "32x32", "--out", tmp_path / "m.safetensors")
    assert code == 2 and "validation share holds no image" in stderr
    small = tmp_path / "small"
    for name in ("A", "B"):
        shutil.copytree(four_images, small / name)
    code, _, stderr = bloodcell("train", small, "--epochs", "1", "--size", "32x32", "--out", tmp_path / "s.safetensors")
    assert code == 0 and "finished its only epoch" in _ + stderr  # fewer images than a batch still train


@pytest.mark.slow
def test_gif_and_webp_files_in_folders_are_classified(model, four_images, tmp_path):
    from PIL import Image

    image = Image.open(next(four_images.glob("*.jpeg")))
    image.save(four_images / "a.gif")
    image.save(four_images / "b.webp")
    out = tmp_path / "out.csv"
    code, _, _ = bloodcell("classify", four_images, "--model", model, "--csv", out)
    names = {r["path"].rsplit("/", 1)[-1]: r["predicted"] for r in rows(out)}
    assert code == 0 and names["a.gif"] in CLASSES and names["b.webp"] in CLASSES


@pytest.mark.slow
def test_an_interrupted_classification_keeps_the_rows_done(model, tmp_path):
    out = tmp_path / "out.csv"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bloodcell_gui.entry",
            "classify",
            real_data() / "TEST",
            "--model",
            model,
            "--csv",
            out,
            "--bs",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Interrupt once rows are being written (the partial file has grown past its header), however
    # slowly this machine imports torch: a fixed sleep raced the start-up on a loaded CI runner.
    deadline = time.monotonic() + LIMIT
    while not any(p.stat().st_size > 4096 for p in tmp_path.glob(".out.csv.*")):
        assert process.poll() is None and time.monotonic() < deadline, "classification never started writing"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=LIMIT)
    assert process.returncode == 130 and b"Traceback" not in stderr
    written = rows(out)
    assert 0 < len(written) < 2488
    assert written[-1]["error"].startswith("INCOMPLETE")
    assert not list(tmp_path.glob(".out.csv.*"))


def test_the_atomic_writer_keeps_mode_links_and_long_names(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    atomic_write_bytes(link, b"through the link")
    assert link.is_symlink() and target.read_bytes() == b"through the link"
    long = tmp_path / ("x" * 250 + ".csv")
    atomic_write_bytes(long, b"long")
    assert long.read_bytes() == b"long"
    stale = tmp_path / ".report.csv.abc123.part"
    stale.write_bytes(b"left by a killed process")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    atomic_write_bytes(target, b"again")
    assert not stale.exists()
    with pytest.raises(OSError) as refused:
        atomic_write_bytes(tmp_path / "missing" / "f.csv", b"x")
    assert "missing/f.csv" in str(refused.value) and ".part" not in str(refused.value)
