"""Training limits are declared once: the settings check and the command line accept and refuse
the same values at each edge."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pytest

from model.cli.guard import within
from model.training import limits
from model.training.settings import TrainConfig

FIELDS = {
    "lr": limits.LEARNING_RATE,
    "epochs": limits.EPOCHS,
    "batch_size": limits.BATCH_SIZE,
    "patience": limits.PATIENCE,
    "mixup": limits.MIXUP,
    "valid_pct": limits.VALID_SHARE,
    "holdout_percent": limits.HOLDOUT_PERCENT,
    "max_copies_per_cell": limits.COPIES_PER_CELL,
}


def edges(limit: limits.Limit) -> tuple[list, list]:
    step = 1 if limit.whole else limit.low / 10 or 0.01
    inside = [int(limit.low), int(limit.high)] if limit.whole else [limit.low, limit.high]
    outside = [limit.low - step, limit.high + step]
    return inside, outside


@pytest.mark.parametrize("field", FIELDS)
def test_the_config_check_and_the_command_line_agree_at_each_edge(field):
    limit = FIELDS[field]
    parse = within(limit)
    inside, outside = edges(limit)
    for value in inside:
        assert not TrainConfig(data=Path("."), **{field: value}).problems(), (field, value)
        assert parse(str(value)) == value
    for value in outside:
        value = int(value) if limit.whole else value
        problems = TrainConfig(data=Path("."), **{field: value}).problems()
        assert problems and limit.words in problems[0], (field, value)
        with pytest.raises(argparse.ArgumentTypeError, match="must be"):
            parse(str(value))


def test_a_fraction_is_no_whole_number_and_nan_no_number():
    assert "whole number" in limits.EPOCHS.problem(2.5)
    assert limits.LEARNING_RATE.problem(float("nan"))
    assert limits.EPOCHS.problem(True)  # a bool is not a count
    base = TrainConfig(data=Path("."))
    assert any("each side" in problem for problem in replace(base, width=8).problems())
