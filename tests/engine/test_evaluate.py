from pathlib import Path

import numpy as np
import pytest

from model.evaluate import Evaluation, ground_truth


def test_metrics_from_a_known_confusion_matrix():
    evaluation = Evaluation(classes=["A", "B"], confusion=np.array([[8, 2], [1, 9]]))
    assert evaluation.accuracy == pytest.approx(17 / 20)
    metrics = evaluation.per_class()
    assert metrics["A"]["precision"] == pytest.approx(8 / 9)
    assert metrics["A"]["recall"] == pytest.approx(8 / 10)
    assert metrics["B"]["f1"] == pytest.approx(2 * (9 / 11) * (9 / 10) / (9 / 11 + 9 / 10))
    assert "85.00%" in evaluation.format_table()


def test_from_pairs_counts_true_rows_and_predicted_columns():
    evaluation = Evaluation.from_pairs(["A", "B", "C"], [(0, 0), (0, 2), (2, 2), (1, 0)])
    assert evaluation.confusion.tolist() == [[1, 0, 1], [1, 0, 0], [0, 0, 1]]


def test_ground_truth_comes_from_the_first_folder_below_the_root():
    root = Path("/data")
    classes = ["EOSINOPHIL", "NEUTROPHIL"]
    assert ground_truth(root / "neutrophil" / "x" / "a.jpg", root, classes) == 1
    assert ground_truth(root / "OTHER" / "a.jpg", root, classes) is None
    assert ground_truth(root / "a.jpg", root, classes) is None
