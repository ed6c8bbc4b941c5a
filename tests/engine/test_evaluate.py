from pathlib import Path

import numpy as np
import pytest

from model.evaluation.evaluate import Evaluation
from model.evaluation.ground_truth import ground_truth


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


def test_balanced_accuracy_and_macro_f1_weigh_classes_equally():
    from model.evaluation.evaluate import per_class_rows

    # 90 of class A, all right; 10 of class B, all called A: accuracy 90 %, balanced 50 %.
    evaluation = Evaluation.from_pairs(["A", "B"], [(0, 0)] * 90 + [(1, 0)] * 10)
    assert evaluation.accuracy == 0.9
    assert evaluation.balanced_accuracy == 0.5
    a_f1 = 2 * 0.9 * 1.0 / 1.9
    assert evaluation.macro_f1 == pytest.approx((a_f1 + 0.0) / 2)
    rows = per_class_rows(evaluation.per_class())
    assert rows[1] == ["B", "—", "0.0%", "—", "10"]  # never predicted: no precision, not "nan%"
    assert "nan" not in evaluation.format_table()
    assert evaluation.to_json()["balanced_accuracy"] == 0.5
