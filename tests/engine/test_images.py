from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.images.reading import ImageError, load_rgb


def test_every_file_in_the_bad_corpus_loads_or_fails_with_a_reason(bad_corpus):
    for name, (path, should_load) in bad_corpus.items():
        if should_load:
            image = load_rgb(path)
            assert image.mode == "RGB", name
        else:
            with pytest.raises(ImageError) as caught:
                load_rgb(path)
            assert caught.value.path == path
            assert caught.value.reason, name


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("truncated.jpg", "truncated"),
        ("empty.jpg", "empty"),
        ("notes.jpg", "not an image"),
        ("tiny.png", "too small"),
        ("huge.png", "too large"),
        ("vanished.jpg", "does not exist"),
    ],
)
def test_reasons_name_the_problem(bad_corpus, name, words):
    with pytest.raises(ImageError, match=words):
        load_rgb(bad_corpus[name][0])


def test_exif_orientation_is_applied(bad_corpus):
    plain = load_rgb(bad_corpus["good.jpeg"][0])
    rotated = load_rgb(bad_corpus["exif-rotated.jpg"][0])
    assert rotated.size == (plain.height, plain.width)


def test_sixteen_bit_grayscale_keeps_its_brightness(bad_corpus):
    reference = np.asarray(load_rgb(bad_corpus["good.jpeg"][0]).convert("L"), float)
    for name in ("gray16.png", "gray16.tif"):
        converted = np.asarray(load_rgb(bad_corpus[name][0]), float)
        assert converted.shape == (*reference.shape, 3)
        assert abs(converted.mean() - reference.mean()) < 2, name


def test_transparent_areas_become_black(tmp_path: Path):
    image = Image.new("RGBA", (32, 32), (255, 255, 255, 0))
    image.paste((200, 100, 50, 255), (0, 0, 16, 32))
    image.save(tmp_path / "half.png")
    pixels = np.asarray(load_rgb(tmp_path / "half.png"))
    assert tuple(pixels[5, 5]) == (200, 100, 50)
    assert tuple(pixels[5, 25]) == (0, 0, 0)


def test_a_folder_named_like_an_image_is_refused(tmp_path: Path):
    (tmp_path / "folder.jpg").mkdir()
    with pytest.raises(ImageError, match="folder"):
        load_rgb(tmp_path / "folder.jpg")
