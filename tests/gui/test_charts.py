import numpy as np
import pytest

from bloodcell_gui.charts import LineChart, ScoreHistogram, nice_ticks


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 1.8, [0, 0.5, 1, 1.5]),
        (0.008, 20, [5, 10, 15, 20]),
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (0, 0.0093, [0, 0.002, 0.004, 0.006, 0.008]),
        (3, 3, [3]),
    ],
)
def test_axes_get_round_ticks_inside_their_range(low, high, ticks):
    assert nice_ticks(low, high) == pytest.approx(ticks)


@pytest.mark.parametrize("log_x", [False, True])
def test_a_chart_draws_its_series(qtbot, log_x):
    chart = LineChart("Loss", "epoch", log_x=log_x)
    qtbot.addWidget(chart)
    chart.resize(400, 240)
    chart.add_series("loss", "#0072B2")
    empty = chart.grab().toImage()
    chart.set_points("loss", [(1e-5 * 10**i, 2.0 - 0.3 * i) for i in range(6)] if log_x else [(1, 1.2), (2, 0.6)])
    drawn = chart.grab().toImage()
    blue = [(x, y) for x in range(0, 400, 2) for y in range(0, 240, 2) if drawn.pixelColor(x, y).name() == "#0072b2"]
    assert blue and drawn != empty
    assert np.ptp([x for x, _ in blue]) > 200, "the line should run across the plot"


def test_the_score_histogram_colours_what_the_threshold_flags(qtbot):
    chart = ScoreHistogram()
    qtbot.addWidget(chart)
    chart.resize(420, 240)
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 1, 960), rng.normal(4, 0.5, 40), [1e9, np.nan]])  # a far tail, a NaN
    chart.set_scores(scores, threshold=2.5, caption="1000 validation images")
    image = chart.grab().toImage()
    pixels = [(x, image.pixelColor(x, y).name()) for x in range(0, 420, 2) for y in range(0, 240, 2)]
    passing = [x for x, colour in pixels if colour == "#0072b2"]
    flagged = [x for x, colour in pixels if colour == "#d55e00"]
    assert passing and flagged and max(passing) < min(flagged), "flagged bars lie right of the passing ones"
    assert len(chart.counts) == ScoreHistogram.BINS and sum(chart.counts) == 1001  # the tail kept, the NaN not
    chart.set_scores([], threshold=2.5, caption="")
    assert chart.counts == []
