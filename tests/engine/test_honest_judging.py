"""Commands that write models judge them honestly: held-back cells are never copies of training
cells, a class not held back is not judged, no class may get worse, pictures without a cell and
too few or one-class pictures for unfamiliar-image statistics are refused or said, and a model
saved at chance is warned about."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import CLASSES, pbc_cells, run_bloodcell
from PIL import Image

from model.adaptation.finetune import adapt, hold_back
from model.adaptation.judgement import judge
from model.adaptation.settings import FinetuneSettings
from model.common.hashing import file_sha256
from model.common.task import TaskState
from model.evaluation.evaluate import Evaluation
from model.modelfile.torch_file import load
from model.review.verified import VerifiedCell
from model.training.calibrate import check_reference_inputs
from model.unfamiliar.statistics import ReferenceError

FAST = FinetuneSettings(frozen_epochs=1, epochs=1, batch_size=8, device="cpu")


def evaluation(confusion) -> Evaluation:
    return Evaluation(classes=CLASSES, confusion=np.array(confusion))


def test_better_means_better_on_every_class_held_back():
    before = evaluation([[5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 3, 2], [0, 0, 0, 5]])
    everywhere = evaluation([[5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0], [0, 0, 0, 5]])
    assert judge(before, everywhere, CLASSES).better
    one_worse = evaluation([[5, 0, 0, 0], [1, 4, 0, 0], [0, 0, 5, 0], [0, 0, 0, 5]])
    verdict = judge(before, one_worse, CLASSES)
    assert not verdict.better and "worse on LYMPHOCYTE" in verdict.reason
    only_neutrophils = evaluation([[0] * 4, [0] * 4, [0] * 4, [0, 0, 0, 5]])
    verdict = judge(evaluation([[0] * 4, [0] * 4, [0] * 4, [0, 0, 1, 4]]), only_neutrophils, CLASSES)
    assert not verdict.better and "not judged" in verdict.reason and "EOSINOPHIL" in verdict.reason
    assert not judge(before, before, CLASSES).better
    assert not judge(None, None, CLASSES).better


def test_copies_of_a_picture_stay_on_one_side():
    cells = [VerifiedCell(f"copy-{i}.jpg", "LYMPHOCYTE") for i in range(10)]
    cells += [VerifiedCell(f"other-{i}.jpg", "LYMPHOCYTE") for i in range(10)]
    groups = [0] * 10 + list(range(1, 11))
    trained, held = hold_back(cells, 0.25, seed=0, groups=groups)
    copies_held = sum(cell.path.startswith("copy") for cell in held)
    assert copies_held in (0, 10)
    assert {c.path for c in trained}.isdisjoint({c.path for c in held})


def copies(tmp_path, per_class: dict[str, int]) -> list[VerifiedCell]:
    """`count` copies (same bytes, other names) of one real picture per class."""
    cells = []
    for cell in pbc_cells(dict.fromkeys(per_class, 1)):
        folder = tmp_path / cell.label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class[cell.label]):
            copy = folder / f"copy-{i}.jpg"
            copy.write_bytes(cell.path.read_bytes())
            cells.append(VerifiedCell(copy, cell.label))
    return cells


@pytest.mark.slow
def test_copies_of_two_pictures_are_never_judged_better(seed_model_file, tmp_path):
    """One lymphocyte and one neutrophil copied 30 times each: nothing distinct to hold back."""
    cells = copies(tmp_path, {"LYMPHOCYTE": 30, "NEUTROPHIL": 30})
    adaptation = adapt(load(seed_model_file), file_sha256(seed_model_file), cells, FAST, TaskState(lambda e: None))
    assert not adaptation.verdict.better
    assert "not judged" in adaptation.verdict.reason
    assert any("copies of only 2 distinct pictures" in warning for warning in adaptation.warnings)
    assert adaptation.held_back == {}


def test_blank_pictures_are_left_out_and_all_blank_is_refused(seed_model_file, tmp_path):
    cells = []
    for name in CLASSES:
        (tmp_path / name).mkdir()
        for i in range(6):
            path = tmp_path / name / f"black-{i}.png"
            Image.new("RGB", (64, 64), (0, 0, 0)).save(path)
            cells.append(VerifiedCell(path, name))
    with pytest.raises(ValueError, match="at least 4 verified cells are needed"):
        adapt(load(seed_model_file), file_sha256(seed_model_file), cells, FAST, TaskState(lambda e: None))


def test_unfamiliar_statistics_share_one_minimum_and_need_two_classes():
    with pytest.raises(ReferenceError, match="at least 40 and 20"):
        check_reference_inputs(np.array([0, 1] * 14), 14, CLASSES)
    with pytest.raises(ReferenceError, match="only one class"):
        check_reference_inputs(np.zeros(60, dtype=int), 30, CLASSES)
    check_reference_inputs(np.array([0, 1, 2, 3] * 10), 20, CLASSES)


@pytest.mark.slow
def test_calibrate_refuses_too_few_pictures(seed_model_file, tmp_path):
    data = tmp_path / "lab"
    for cell in pbc_cells(dict.fromkeys(CLASSES, 7)):
        (data / cell.label).mkdir(parents=True, exist_ok=True)
        (data / cell.label / cell.path.name).symlink_to(cell.path)
    done = run_bloodcell("calibrate", seed_model_file, data, "--out", tmp_path / "calibrated.safetensors")
    assert done.returncode == 2 and "at least 40 and 20 are needed" in done.stderr, done.stderr
    assert not (tmp_path / "calibrated.safetensors").exists()


@pytest.mark.slow
def test_train_warns_when_it_saves_a_model_at_chance(tmp_path):
    """Every class folder holds the same pictures: nothing to learn, guessing is all there is."""
    source = pbc_cells({"NEUTROPHIL": 12})
    for name in CLASSES:
        (tmp_path / "data" / name).mkdir(parents=True)
        for cell in source:
            (tmp_path / "data" / name / cell.path.name).symlink_to(cell.path)
    out = tmp_path / "chance.safetensors"
    done = run_bloodcell(
        "train", tmp_path / "data", "--arch", "seed", "--size", "32x32", "--epochs", "1", "--bs", "16",
        "--out", out,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "warning:" in done.stderr and "guessing" in done.stderr


def test_noise_and_blank_pictures_are_not_cells_to_learn_from(tmp_path):
    from model.adaptation.finetune import pictures_of_cells

    rng = np.random.default_rng(0)
    noise, blank = tmp_path / "noise.png", tmp_path / "blank.png"
    Image.fromarray(rng.integers(0, 256, (240, 320, 3)).astype(np.uint8)).save(noise)
    Image.new("RGB", (320, 240), (230, 220, 225)).save(blank)
    real = pbc_cells({"LYMPHOCYTE": 2})
    kept, left_out = pictures_of_cells([*real, VerifiedCell(noise, "LYMPHOCYTE"), VerifiedCell(blank, "MONOCYTE")])
    assert kept == real and left_out == 2
