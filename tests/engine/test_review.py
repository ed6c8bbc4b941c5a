import csv
from pathlib import Path

from model.inference.classifier import ClassifiedImage, UnreadableImage
from model.review.export import write_session_csv
from model.review.session import ReviewSession

CLASSES = ["A", "B", "C"]


def session_with_rows() -> ReviewSession:
    session = ReviewSession(classes=CLASSES, threshold=0.8)
    session.add(ClassifiedImage(Path("/x/1.jpg"), (0.9, 0.05, 0.05)), truth=0)
    session.add(ClassifiedImage(Path("/x/2.jpg"), (0.3, 0.6, 0.1)), truth=0)
    session.add(UnreadableImage(Path("/x/3.jpg"), "the file is empty (0 bytes)"))
    return session


def test_differential_counts_the_technicians_class_first():
    session = session_with_rows()
    assert session.counts() == [1, 1, 0]
    session.set_verified([1], 2)
    assert session.counts() == [1, 0, 1]
    assert session.rows[1].reviewed
    session.set_verified([1], None)
    assert session.counts() == [1, 1, 0]


def test_review_bin_holds_low_confidence_unreviewed_images():
    session = session_with_rows()
    assert [session.needs_review(r) for r in session.rows] == [False, True, False]
    session.set_reviewed([1])
    assert session.review_count == 0
    session.threshold = 0.95
    assert session.review_count == 1


def test_evaluation_uses_the_models_prediction_against_folder_truth():
    evaluation = session_with_rows().evaluation()
    assert evaluation.confusion.tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 0]]


def test_csv_export_has_a_row_per_image_including_failures(tmp_path):
    session = session_with_rows()
    session.set_verified([1], 0)
    out = tmp_path / "r.csv"
    write_session_csv(session, out, model_name="m", model_sha256="abc")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["predicted"] for r in rows] == ["A", "B", ""]
    assert rows[1]["verified"] == "A" and rows[1]["reviewed"] == "yes"
    assert rows[2]["error"] == "the file is empty (0 bytes)" and rows[2]["p_A"] == ""
    assert rows[0]["model_sha256"] == "abc"


def test_the_one_pass_summary_counts_what_each_bin_counts():
    from model.inference.classifier import UnreadableImage

    session = ReviewSession(classes=CLASSES)
    answers = [(0.9, 0.05, 0.05), (0.3, 0.6, 0.1), (0.99, 0.005, 0.005), (0.2, 0.2, 0.6), (0.5, 0.25, 0.25)]
    for index, probabilities in enumerate(answers):
        session.add(ClassifiedImage(Path(f"/x/{index}.jpg"), probabilities, unfamiliarity=float(index)))
    session.add(UnreadableImage(Path("/x/broken.jpg"), "the file is empty"))
    for row in session.rows[:5]:
        row.unfamiliar_threshold = 3.5  # the fifth is unlike the training images
    session.set_verified([1], 2)
    session.set_reviewed([3], True)
    totals = session.summary()
    assert totals.counts == session.counts() and totals.to_review == session.review_count
    assert totals.unidentified == session.unidentified_count == 1
    assert (totals.classified, totals.unreadable, totals.reviewed) == (5, 1, 2)
    assert totals.provisional == session.provisional
