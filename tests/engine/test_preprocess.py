import numpy as np
import pytest
from helpers import real_data
from PIL import Image, ImageDraw

from model.images.cell_locator import locate_stained_cell
from model.images.preprocess import STAINED_CELL, WHOLE_IMAGE, InputPolicy, crop_around_cell, fit_to_input
from model.images.reading import load_rgb

PINK, VIOLET, GREY = (225, 170, 165), (110, 60, 180), (215, 215, 215)


def smear(size=(320, 240), cell_at=(230, 70), radius=28) -> Image.Image:
    """Pink red cells on grey, one violet nucleus, and a few violet platelets far from it."""
    image = Image.new("RGB", size, GREY)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 45):
        for y in range(0, size[1], 45):
            draw.ellipse((x, y, x + 36, y + 36), fill=PINK)
    for x, y in [(30, 200), (60, 30), (150, 210)]:
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=VIOLET)
    cx, cy = cell_at
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=VIOLET)
    return image


def test_the_violet_nucleus_is_found_and_platelets_are_ignored():
    x, y = locate_stained_cell(smear(cell_at=(230, 70)))
    assert abs(x - 230) <= 8 and abs(y - 70) <= 8


def test_the_search_scales_with_the_photo():
    x, y = locate_stained_cell(smear(size=(1280, 960), cell_at=(300, 700), radius=110))
    assert abs(x - 300) <= 24 and abs(y - 700) <= 24


@pytest.mark.parametrize("image", [Image.new("RGB", (320, 240), GREY), Image.new("RGB", (1, 1))])
def test_no_stain_means_no_cell(image):
    assert locate_stained_cell(image) is None


def test_the_crop_holds_the_cell_and_moves_inward_at_an_edge():
    policy = InputPolicy(128, 128, framing=STAINED_CELL, crop_fraction=0.6)
    crop = crop_around_cell(smear(cell_at=(300, 20), radius=15), policy)
    assert crop.size == (144, 144)
    violet = np.all(np.abs(np.asarray(crop, dtype=int) - VIOLET) < 10, axis=-1)
    assert violet.sum() > 0.9 * np.pi * 15**2, "the nucleus near the corner must be inside the window"


def test_without_stain_the_centre_is_kept():
    image = Image.new("RGB", (320, 240), GREY)
    image.putpixel((160, 120), (0, 0, 0))
    crop = crop_around_cell(image, InputPolicy(128, 128, framing=STAINED_CELL))
    assert crop.getpixel((72, 72)) == (0, 0, 0)


@pytest.mark.parametrize("framing", [WHOLE_IMAGE, STAINED_CELL])
@pytest.mark.parametrize("size", [(1, 1), (320, 240), (100, 500), (2000, 90)])
def test_every_shape_becomes_the_input_size(framing, size):
    policy = InputPolicy(96, 64, framing=framing)
    assert fit_to_input(smear(size=size, cell_at=(size[0] // 2, size[1] // 2), radius=2), policy).size == (96, 64)


def test_real_crops_are_richer_in_stain_than_the_whole_photo():
    """On real smears the window must land on the leukocyte, not on red cells or background."""
    policy = InputPolicy(128, 128, framing=STAINED_CELL)
    files = sorted((real_data() / "TEST_SIMPLE").glob("*/*.jpeg"))[::7]

    def stained_share(image: Image.Image) -> float:
        pixels = np.asarray(image, dtype=int)
        return float(np.mean(pixels[..., 2] - pixels[..., 1] > 40))

    for file in files:
        image = load_rgb(file)
        assert stained_share(crop_around_cell(image, policy)) > 2 * stained_share(image), file.name


@pytest.mark.parametrize("policy", [InputPolicy(), InputPolicy(128, 128, framing=STAINED_CELL, crop_fraction=0.5)])
def test_policy_survives_its_json(policy):
    assert InputPolicy.from_json(policy.to_json()) == policy


def test_files_from_before_framing_existed_read_as_whole_image():
    old = {"method": "fit-and-pad-black", "width": 160, "height": 120, "mean": [0.5] * 3, "std": [0.2] * 3}
    assert InputPolicy.from_json(old).framing == WHOLE_IMAGE


def test_unknown_methods_and_framings_are_refused():
    with pytest.raises(ValueError, match="unknown resize method"):
        InputPolicy.from_json({"method": "stretch", "width": 1, "height": 1, "mean": [0] * 3, "std": [1] * 3})
    with pytest.raises(ValueError, match="unknown framing"):
        InputPolicy(framing="zoom")


@pytest.mark.parametrize("size", [(320, 240), (64, 48)])
def test_noise_is_no_cell_even_where_it_is_violet(size):
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3)).astype(np.uint8))
    assert locate_stained_cell(noise) is None


def test_real_cells_at_any_size_are_not_taken_for_noise():
    from helpers import real_data

    for path in sorted((real_data() / "TEST_SIMPLE").rglob("*.jpeg"))[::10]:
        image = load_rgb(path)
        for size in (None, (64, 48), (40, 30)):
            assert locate_stained_cell(image if size is None else image.resize(size)) is not None, (path, size)
