"""A lab's magnification, measured on its own pictures: another magnification is recognised and
framed back to the one the model learnt, and a batch or a single picture still classifies."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from helpers import pbc_cells, real_data, run_bloodcell
from PIL import Image

from bench.proxy_labs import magnified
from model.images.magnification import (
    Magnification,
    batch_magnification,
    estimate_magnification,
    fixed_magnification,
    policy_at,
)
from model.images.preprocess import InputPolicy


def another_magnification(tmp_path: Path, factor: float, per_class: int = 4) -> list[Path]:
    paths = []
    for cell in pbc_cells(dict.fromkeys(["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"], per_class)):
        target = tmp_path / cell.label / cell.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        magnified(Image.open(cell.path).convert("RGB"), factor).save(target, quality=95)
        paths.append(target)
    return paths


@pytest.mark.slow
@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0])
def test_a_batchs_magnification_is_measured_on_its_own_pictures(tmp_path, factor):
    native = estimate_magnification(another_magnification(tmp_path / "native", 1.0)).factor
    found = estimate_magnification(another_magnification(tmp_path / "other", factor))
    assert found is not None and found.pictures == 16
    assert found.factor / native == pytest.approx(factor, rel=0.2)


def test_too_few_pictures_say_nothing_and_the_window_follows_the_factor():
    assert batch_magnification([0.25, None, 0.3]) is None
    policy = InputPolicy(128, 128, framing="cell", crop_fraction=0.6)
    assert policy_at(policy, Magnification(2.0, 50)).crop_fraction == pytest.approx(1.2)
    assert policy_at(policy, None) == policy
    with pytest.raises(ValueError, match="outside"):
        fixed_magnification(9.0)


@pytest.mark.slow
def test_the_cli_frames_another_magnification_back_and_records_it(tmp_path):
    another_magnification(tmp_path / "lab", 2.0, per_class=5)
    out = tmp_path / "out.csv"
    done = run_bloodcell("classify", tmp_path / "lab", "--csv", out)
    assert done.returncode == 0, done.stderr
    assert "framed at magnification x" in done.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    factor = float(rows[0]["magnification"])
    assert 1.5 < factor < 2.6 and {row["magnification"] for row in rows} == {rows[0]["magnification"]}
    right = sum(row["predicted"] == row["true_class"] for row in rows)
    assert right >= 16, f"{right} of 20 right at x2 framed back"
    single = run_bloodcell("classify", next((tmp_path / "lab" / "MONOCYTE").iterdir()), "--csv", tmp_path / "one.csv")
    assert single.returncode == 0 and "not estimated" in single.stdout


@pytest.mark.slow
def test_a_fixed_magnification_is_used_as_given(tmp_path):
    folder = real_data() / "TEST_SIMPLE" / "LYMPHOCYTE"
    out = tmp_path / "fixed.csv"
    done = run_bloodcell("classify", folder, "--magnification", "1.3", "--csv", out)
    assert done.returncode == 0 and "x1.30 relative to training (set by hand)" in done.stdout
    assert {row["magnification"] for row in csv.DictReader(out.open(encoding="utf-8"))} == {"1.3"}


def test_the_session_keeps_the_magnification_it_was_framed_at(tmp_path):
    from model.review.session import ImageRow, ReviewSession
    from model.review.session_file import load_session, save_session

    session = ReviewSession(classes=["A", "B"], rows=[ImageRow(Path("x.jpg"), (0.9, 0.1))])
    session.magnification = Magnification(1.8, 120)
    again = load_session(save_session(tmp_path / "s.bcsession", session))
    assert again.magnification == Magnification(1.8, 120)
    assert "x1.80 relative to training (estimated from 120 pictures)" in again.magnification.describe()
