"""The wizard does not put a useless or worse model in use without an explicit choice."""

import math
from pathlib import Path

import numpy as np

from bloodcell_gui.charts import LineChart
from model.evaluation.evaluate import Evaluation
from model.training.run import RunEvaluation


def evaluation(confusion) -> Evaluation:
    return Evaluation(classes=["A", "B", "C", "D"], confusion=np.array(confusion))


GOOD = [[9, 1, 0, 0], [0, 10, 0, 0], [0, 0, 9, 1], [1, 0, 0, 9]]
CHANCE = [[3, 2, 3, 2], [2, 3, 2, 3], [3, 2, 2, 3], [2, 3, 3, 2]]


def test_a_model_at_chance_is_not_recommended():
    ok, words = RunEvaluation(test=evaluation(CHANCE), test_folder=Path("T")).go_live(4, 0.9)
    assert not ok and "guessing" in words
    ok, words = RunEvaluation().go_live(4, 0.219)  # no test folder: validation decides
    assert not ok and "21.9%" in words


def test_a_model_worse_than_the_one_in_use_on_the_same_folder_is_not_recommended():
    better_before = RunEvaluation(
        test=evaluation(CHANCE), test_folder=Path("T"), baseline=evaluation(GOOD), baseline_name="old"
    )
    better_before.test = evaluation([[8, 2, 0, 0], [0, 8, 2, 0], [0, 0, 8, 2], [2, 0, 0, 8]])
    ok, words = better_before.go_live(4, 0.9)
    assert not ok and "does worse than the model in use" in words and "(old)" in words
    ok, words = RunEvaluation(test=evaluation(GOOD), test_folder=Path("T"), baseline=evaluation(CHANCE)).go_live(4, 0.9)
    assert ok and "92.5%" in words


def test_a_chart_with_a_diverging_loss_stays_inside_its_frame(qtbot):
    chart = LineChart("Loss", "epoch")
    qtbot.addWidget(chart)
    chart.add_series("loss", "#0072B2")
    for x, y in ((1, 1.2), (2, 0.8), (3, math.inf), (4, math.nan), (5, 0.5)):
        chart.add_point("loss", x, y)
    chart.resize(300, 200)
    image = chart.grab().toImage()  # paints without an exception, with finite axes
    assert image.width() == 300
