import numpy as np
from helpers import real_data
from PIL import Image

from model.cell_locator import locate_stained_cell
from model.images import load_rgb
from model.interpret import validation_caution
from model.near_duplicates import COPY_DISTANCE, CopyCheck, cell_signature, check_for_copies, nearest_distances


def augmented_copy(image: Image.Image, angle: float, flip: bool, shift: tuple[int, int]) -> Image.Image:
    """What the data set's augmentation did: rotate (black corners), flip, shift; the cell stays in view."""
    centre = locate_stained_cell(image)
    copy = image.rotate(angle, resample=Image.Resampling.BILINEAR, center=centre, translate=shift)
    return copy.transpose(Image.Transpose.FLIP_TOP_BOTTOM) if flip else copy


def originals(count: int) -> list:
    """Unaugmented photos whose cell lies well inside the frame, so that a turned copy still
    shows all of it (as the data set's own copies do)."""
    inside = []
    for path in sorted((real_data() / "TEST_SIMPLE").glob("*/*.jpeg")):
        x, y = locate_stained_cell(load_rgb(path))
        if 60 <= x <= 260 and 60 <= y <= 180:
            inside.append(path)
    return inside[:count]


def test_rotated_flipped_and_shifted_copies_keep_their_signature():
    for path in originals(8):
        image = load_rgb(path)
        copy = augmented_copy(image, angle=37, flip=True, shift=(14, -9))
        distance = float(np.linalg.norm(cell_signature(image) - cell_signature(copy)))
        assert distance < COPY_DISTANCE, path.name


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
