"""The proxy labs of bench/proxy_labs.py keep each picture's frame and change what they say."""

from __future__ import annotations

import numpy as np
from helpers import real_data
from PIL import Image

from bench.proxy_labs import PROXIES, held_out_pictures, magnified


def test_every_proxy_keeps_the_frame_and_changes_the_picture():
    image = Image.open(sorted((real_data() / "TEST_SIMPLE" / "MONOCYTE").iterdir())[0]).convert("RGB")
    for name, transform in PROXIES.items():
        changed = transform(image)
        assert changed.size == image.size and changed.mode == "RGB", name
        same = np.array_equal(np.asarray(changed), np.asarray(image))
        assert same == (name == "as is"), name


def test_a_higher_magnification_shows_the_centre_larger():
    pixels = np.zeros((40, 40, 3), np.uint8)
    pixels[15:25, 15:25] = 255  # a square in the middle
    doubled = np.asarray(magnified(Image.fromarray(pixels), 2.0))
    assert doubled[11:29, 11:29].mean() > 200 and doubled[:8].mean() < 10  # 10 pixels became 20


def test_the_held_out_pictures_are_balanced_and_never_trained_on():
    from model.training.holdout import is_held_out

    labs = held_out_pictures(per_class=5)
    assert {len(pictures) for pictures in labs.values()} == {20}
    assert all(is_held_out(path) for path, _ in labs["pbc held-out"])
