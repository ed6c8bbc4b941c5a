from pathlib import Path

import numpy as np
import pytest
from helpers import augmented_copy, cells_inside_the_frame, real_data

from model.images.near_duplicates import (
    COPY_DISTANCE,
    CopyCheck,
    cell_groups,
    cell_signature,
    check_for_copies,
    nearest_distances,
)
from model.images.reading import load_rgb
from model.training.interpret import validation_caution
from model.training.splits import split_whole_groups


def originals(count: int) -> list[Path]:
    return cells_inside_the_frame(sorted((real_data() / "TEST_SIMPLE").glob("*/*.jpeg")), count)


def test_rotated_flipped_and_shifted_copies_keep_their_signature():
    for path in originals(8):
        image = load_rgb(path)
        copy = augmented_copy(image, angle=37, flip=True, shift=(14, -9))
        distance = float(np.linalg.norm(cell_signature(image) - cell_signature(copy)))
        assert distance < COPY_DISTANCE, path.name


@pytest.mark.slow
def test_a_folder_of_copies_is_flagged_and_distinct_cells_are_not(tmp_path):
    train, valid_copies = [], []
    for index, path in enumerate(originals(10)):
        train.append(path)
        copy = tmp_path / f"copy{index}.png"
        augmented_copy(load_rgb(path), angle=20 + 30 * index, flip=index % 2 == 0, shift=(index, -index)).save(copy)
        valid_copies.append(copy)
    assert check_for_copies(valid_copies, train).share >= 0.9

    test_cells = sorted((real_data() / "TEST_SIMPLE").glob("*/*.jpeg"))[10:50]
    train_sample = sorted((real_data() / "TRAIN").glob("*/*.jpeg"))[::25]
    unseen = check_for_copies(test_cells, train_sample)
    assert unseen.checked == 40 and unseen.share < 0.05


def test_unreadable_files_match_nothing(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    good = originals(1)
    assert check_for_copies([broken, *good], good) == CopyCheck(copies=1, checked=1)
    assert np.isinf(nearest_distances(np.zeros((2, 4), np.float32), np.full((3, 4), np.nan, np.float32))).all()


def test_caution_speaks_plainly():
    assert "optimistic" in validation_caution(CopyCheck(copies=870, checked=1000), 0.99, None)
    assert validation_caution(CopyCheck(copies=5, checked=1000), 0.9, None) == ""
    gap = validation_caution(None, 0.99, 0.88)
    assert "88.0%" in gap and "99.0%" in gap
    assert validation_caution(None, 0.9, 0.89) == ""


def test_copies_of_each_cell_form_one_group(tmp_path):
    paths = []
    for index, path in enumerate(originals(5)):
        paths.append(path)
        for turn in range(2):
            copy = tmp_path / f"{index}-{turn}.png"
            augmented_copy(load_rgb(path), angle=50 + 70 * turn, flip=turn == 1, shift=(turn * 6, 3)).save(copy)
            paths.append(copy)
    groups = cell_groups(paths)
    assert [len(set(groups[i : i + 3])) for i in range(0, 15, 3)] == [1] * 5
    assert len(set(groups)) == 5


def test_a_split_by_cell_takes_whole_groups_from_every_class():
    groups = np.repeat(np.arange(20), 5)  # 20 cells of 5 copies, 10 cells per class
    labels = ["A"] * 50 + ["B"] * 50
    valid = split_whole_groups(groups, labels, valid_pct=0.2, seed=3)
    train = sorted(set(range(100)) - set(valid))
    assert not set(groups[valid]) & set(groups[train])
    assert sum(labels[i] == "A" for i in valid) == sum(labels[i] == "B" for i in valid) == 10
    assert split_whole_groups(groups, labels, 0.2, seed=3) == valid
    assert split_whole_groups(groups, labels, 0.2, seed=4) != valid


def test_a_split_by_cell_keeps_a_class_of_one_cell_for_training():
    groups = np.array([0, 0, 0, 1, 1, 2, 2])
    valid = split_whole_groups(groups, ["A", "A", "A", "B", "B", "B", "B"], valid_pct=0.5, seed=0)
    assert 0 not in groups[valid]
    with pytest.raises(ValueError, match="cannot be split by cell"):
        split_whole_groups(np.array([0, 0, 1, 1]), ["A", "A", "B", "B"], valid_pct=0.5, seed=0)
