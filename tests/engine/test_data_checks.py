from pathlib import Path

from model.images.scan import DatasetScan
from model.training.checks import IMBALANCE_RATIO, TINY_CLASS, data_warnings, training_problems


def test_balanced_large_classes_give_no_warning():
    assert data_warnings({"A": 100, "B": 100}) == []


def test_imbalance_and_tiny_classes_are_named():
    warnings = data_warnings({"A": 100, "B": int(100 / IMBALANCE_RATIO) - 1, "C": TINY_CLASS - 1, "D": 0})
    text = " ".join(warnings)
    assert "A has" in text and "as many images as C" in text
    assert f"C has only {TINY_CLASS - 1} images" in text
    assert "D" not in text  # an empty class is a problem, not a warning


def test_a_validation_folder_with_unknown_classes_cannot_be_trained_on():
    train = DatasetScan(Path("t"), ["A", "B"], files=[(Path("a"), "A"), (Path("b"), "B")])
    valid = DatasetScan(Path("v"), ["A", "C"], files=[(Path("c"), "C")])
    assert training_problems(train) == []
    assert training_problems(train, valid) == ["the validation folder has classes the training folder lacks: C"]
    assert "has no usable images" in training_problems(DatasetScan(Path("t"), ["A", "B"], files=[(Path("a"), "A")]))[0]
