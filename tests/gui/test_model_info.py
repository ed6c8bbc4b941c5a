"""Model › Model information… reads as sentences: no raw settings dictionaries."""

from __future__ import annotations

import html
import re

from bloodcell_gui.model_info import model_info_html
from model.common.resources import default_model_path
from model.fileformat.header import read_info


def test_the_default_models_information_has_no_raw_dictionaries():
    path = default_model_path()
    text = html.unescape(re.sub(r"<[^>]+>", " ", model_info_html(read_info(path), path, "0" * 64)))
    assert "{'" not in text and "flip_vert" not in text and "max_rotate" not in text
    assert "rotation up to 180°" in text and "vertical flips" in text
    assert "colour changes for a share 0.5 of pictures" in text
