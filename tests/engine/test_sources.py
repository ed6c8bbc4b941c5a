"""Training on several sources (labs) at once."""

from pathlib import Path

import numpy as np
import pytest
from helpers import CLASSES, real_data

from model.images.scan import DatasetScan
from model.modelfile.torch_file import read_info
from model.training.sources import balanced_weights, merge_sources, split_within_sources


def scan(root: str, per_class: dict[str, int]) -> DatasetScan:
    files = [(Path(root) / c / f"{root}_{c}_{i}.jpeg", c) for c, n in per_class.items() for i in range(n)]
    return DatasetScan(Path(root), sorted(per_class), files=files)


def test_sources_merge_less_their_held_out_share_and_must_share_classes():
    a, b = scan("a", {"A": 50, "B": 50}), scan("b", {"A": 200, "B": 10})
    merged = merge_sources([a, b], holdout_percent=20)
    assert len(merged.scan.files) + sum(merged.held_out) == 310
    assert 40 <= sum(merged.held_out) <= 85 and set(merged.source_of) == {0, 1}
    with pytest.raises(ValueError, match="same class folders"):
        merge_sources([a, scan("c", {"A": 5, "C": 5})])


def test_validation_is_drawn_within_each_source_and_sampling_balances_them():
    labels = ["A"] * 100 + ["B"] * 100 + ["A"] * 10 + ["B"] * 10
    sources = np.array([0] * 200 + [1] * 20)
    groups = np.arange(220)
    valid = split_within_sources(groups, labels, sources, 0.2, seed=1)
    assert {int(sources[i]) for i in valid} == {0, 1}
    assert 35 <= sum(sources[valid] == 0) <= 45 and 2 <= sum(sources[valid] == 1) <= 5
    train = [i for i in range(220) if i not in set(valid)]
    weights = balanced_weights(labels, sources, train)
    totals = {}
    for i, w in zip(train, weights, strict=True):
        totals[(int(sources[i]), labels[i])] = totals.get((int(sources[i]), labels[i]), 0) + w
    assert np.allclose(list(totals.values()), 1.0)  # each (source, class) pair weighs the same


@pytest.mark.slow
def test_the_command_line_trains_on_two_labs_and_records_each(tmp_path, monkeypatch):
    from model.cli.main import main
    from model.unfamiliar import statistics as unfamiliar

    monkeypatch.setattr(unfamiliar, "MIN_SOURCE_IMAGES", 3)  # this tiny training's labs are held to the share

    pbc = real_data().parent / "pbc"
    for name, base, n in (("labA", real_data() / "TRAIN", 10), ("labB", pbc, 25)):
        for c in CLASSES:
            (tmp_path / name / c).mkdir(parents=True)
            for f in sorted((base / c).iterdir())[:n]:
                (tmp_path / name / c / f.name).symlink_to(f)
    out = tmp_path / "two-labs.safetensors"
    arguments = [tmp_path / "labA", tmp_path / "labB", "--arch", "seed", "--size", "48x48", "--epochs", "1"]
    assert main(["train", *map(str, arguments), "--holdout-percent", "20", "--out", str(out)]) == 0
    info = read_info(out)
    by_source = info.metrics["valid_by_source"]
    assert set(by_source) == {str(tmp_path / "labA"), str(tmp_path / "labB")}
    assert all(figures["images"] > 0 and 0 <= figures["balanced_accuracy"] <= 1 for figures in by_source.values())
    sources = info.training["data"]["sources"]
    assert [s["held_out"] > 0 for s in sources] == [True, True]
    assert "mod 100 < 20" in info.training["data"]["held_out_rule"]
    assert info.training["settings"]["more_data"] == [str(tmp_path / "labB")]
    counts = info.unfamiliar["held_out_by_source"]
    assert set(counts) == {"0", "1"} and sum(counts.values()) == info.unfamiliar["calibrated_on"]
