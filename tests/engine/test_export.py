import csv
from pathlib import Path

import pytest

from model.common.formatting import display_path
from model.review.export import csv_cell, header, write_session_csv
from model.review.session import ImageRow, ReviewSession
from model.unfamiliar.statistics import UNLIKE_TRAINING

CLASSES = ["A", "B"]


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\t=x", "\r=x"])
def test_cells_a_spreadsheet_would_run_are_written_as_text(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["plain.jpeg", "a=b", "", "0.5"])
def test_ordinary_cells_are_unchanged(text):
    assert csv_cell(text) == text


def test_a_file_name_that_is_not_utf8_is_kept_readably():
    path = Path(b"/data/caf\xe9.jpeg".decode("utf-8", "surrogateescape"))
    assert display_path(path) == "/data/caf\\xe9.jpeg"


def test_one_row_per_image_in_the_schema_order(tmp_path):
    rows = [
        ImageRow(
            Path("/x/=evil.jpeg"),
            (0.25, 0.75),
            truth=1,
            verified=0,
            reviewed=True,
            unfamiliarity=-0.71234,
            unfamiliar_threshold=1.0,
        ),
        ImageRow(Path("/x/bad.jpeg"), error="truncated"),
        ImageRow(Path("/x/cat.jpeg"), (0.9, 0.1), unfamiliarity=3.5, unfamiliar_threshold=1.0),
        ImageRow(Path("/x/split.jpeg"), (0.6, 0.4), networks_agree=False),  # an ensemble's networks disagree
    ]
    out = tmp_path / "out.csv"
    write_session_csv(ReviewSession(classes=CLASSES, rows=rows), out, model_name="m", model_sha256="abc")
    written = list(csv.reader(out.open(encoding="utf-8")))
    assert (
        written[0]
        == header(CLASSES)
        == [
            "path",
            "status",
            "predicted",
            "confidence",
            "p_A",
            "p_B",
            "unfamiliarity",
            "unidentified",
            "networks_agree",
            "verified",
            "reviewed",
            "final",
            "decided_by",
            "decided_at",
            "true_class",
            "error",
            "model",
            "model_sha256",
            "provisional",
            "magnification",
        ]
    )
    assert written[1] == [
        "/x/=evil.jpeg",
        "accepted",  # a technician gave it a class
        "B",
        "0.750000",
        "0.250000",
        "0.750000",
        "-0.7123",
        "",
        "yes",
        "A",
        "yes",
        "A",
        "",
        "",
        "B",
        "",
        "m",
        "abc",
        "no",
        "",
    ]
    assert written[2] == [
        "/x/bad.jpeg", "unreadable", "", "", "", "", "", "", "", "", "no", "", "", "", "", "truncated", "m", "abc",
        "no", "",
    ]  # fmt: skip
    assert written[3][1] == "unidentified" and written[3][6:9] == ["3.5", UNLIKE_TRAINING, "yes"]
    assert written[4][1] == "review"  # the ensemble's networks disagree
    assert written[4][2:4] + written[4][7:9] == ["A", "0.600000", "", "no"]
