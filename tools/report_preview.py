"""Render the PDF report of a signed sample session, and a PNG of the same page to look at.

Classifies TEST_SIMPLE with a model, marks the review and Unidentified bins' images reviewed
or classified as the folder says (standing in for a technician), signs, then writes
`report.pdf` and `report.png` (the page laid out by the same QTextDocument, A4 at 110 dpi).

    QT_QPA_PLATFORM=offscreen python -m tools.report_preview docs/report [--model M]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QSizeF
from PySide6.QtGui import QImage, QPainter, QTextDocument
from PySide6.QtWidgets import QApplication

from bloodcell_gui.report import HEATMAP_URL, heatmap_image, report_html, write_pdf
from model.common.resources import default_model_path
from model.evaluation.ground_truth import FolderTruth
from model.modelfile.opening import open_classifier
from model.review.session import ModelIdentity, ReviewSession, Sample
from tools.dev_data import BLOOD_CELLS

LAB = ("Haematology Laboratory, St. Example Hospital", "1 Example Road\n12345 Example City")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", type=Path, default=default_model_path())
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    from model.common.hashing import file_sha256

    classifier = open_classifier(args.model, "cpu")
    model = ModelIdentity(classifier.info.name, file_sha256(args.model))
    folder = BLOOD_CELLS / "TEST_SIMPLE"
    truth = FolderTruth([folder], classifier.classes)
    session = ReviewSession(classifier.classes, sample=Sample("S-2026-0042", "P-0017", 100, "Smear from the left arm."))
    session.reviewer = "A. Technician"
    threshold = classifier.threshold()
    results = list(classifier.classify([folder]))
    for result in results:
        session.add(result, truth(result.path), model=model, unfamiliar_threshold=threshold)
    session.record_classification(model, len(results))
    for index, row in enumerate(session.rows):
        if row.unidentified or session.needs_review(row):
            session.set_verified([index], row.truth)
    session.sign()
    args.out.mkdir(parents=True, exist_ok=True)
    write_pdf(args.out / "report.pdf", session, model.name, model.sha256, lab=LAB)

    dpi = 110
    page = QSizeF(210 / 25.4 * dpi, 297 / 25.4 * dpi)
    margin = 15 / 25.4 * dpi
    document = QTextDocument()
    document.setPageSize(QSizeF(page.width() - 2 * margin, page.height() - 2 * margin))
    evaluation = session.evaluation()
    if evaluation is not None:
        document.addResource(
            QTextDocument.ResourceType.ImageResource,
            HEATMAP_URL,
            heatmap_image(session.classes, evaluation.confusion.tolist()),
        )
    document.setHtml(report_html(session, model.name, model.sha256, datetime.now(UTC), LAB))
    image = QImage(int(page.width()), int(page.height()), QImage.Format.Format_RGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    painter.translate(margin, margin)
    document.drawContents(painter)
    painter.end()
    image.save(str(args.out / "report.png"))
    print(f"wrote {args.out / 'report.pdf'} and {args.out / 'report.png'} ({document.pageCount()} page(s))")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
