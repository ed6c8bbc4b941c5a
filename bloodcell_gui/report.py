"""The one-page PDF report, laid out by QTextDocument and written by QPdfWriter."""

from __future__ import annotations

import html
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSize, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

from bloodcell_gui.heatmap import ConfusionHeatmap
from bloodcell_gui.html_tables import accuracy_words, per_class_table_html
from model import __version__
from model.common.atomic import atomic_write_bytes
from model.common.formatting import visible_direction_marks
from model.review.session import ReviewSession

HEATMAP_URL = QUrl("bloodcell://heatmap.png")


def heatmap_image(classes: list[str], confusion: list[list[int]], size: QSize = QSize(480, 420)) -> QImage:  # noqa: B008
    """The heatmap widget painted at twice `size` pixels, for print."""
    widget = ConfusionHeatmap()
    widget.set_data(classes, confusion)
    widget.resize(size)
    image = QImage(size * 2, QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(2)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    widget.paint_into(painter)
    painter.end()
    return image


def models_html(session: ReviewSession, model_name: str, model_sha256: str) -> str:
    """Which model classified the images: one, or each of several with its count (a session in
    which the model was switched says so; the CSV names the model on every row)."""
    used = Counter(row.model for row in session.rows if row.model is not None)
    if len(used) <= 1:
        name, sha = (next(iter(used)).name, next(iter(used)).sha256) if used else (model_name, model_sha256)
        return f"model <b>{esc(name)}</b> <span style='color:#666'>(SHA-256 {esc(sha[:16])}…)</span>"
    parts = "; ".join(
        f"<b>{esc(model.name)}</b> (SHA-256 {esc(model.sha256[:16])}…): {count} images" for model, count in used.items()
    )
    return f"<b>classified by {len(used)} different models</b>: {parts}"


def esc(text: str) -> str:
    """Text from outside (names, comments, a lab header) as HTML that shows what it says: its
    direction overrides, which could show "10" for "01", made visible instead of obeyed."""
    return html.escape(visible_direction_marks(text))


def sample_html(session: ReviewSession, lab: tuple[str, str], when: datetime) -> str:
    """The lab header, the sample, the reviewer and the sign-off (or that there is none yet)."""
    name, address = lab
    lines = esc(address).replace("\n", "<br>")
    header = f"<p><b>{esc(name)}</b>{'<br>' + lines if address else ''}</p>" if name else ""
    sample = session.sample
    signature = session.signature
    signed = (
        f"<b>signed</b> by {esc(signature.reviewer)} at {esc(signature.stamp.local)} (UTC {esc(signature.stamp.utc)})"
        if signature
        else "<b>not signed</b> (a preliminary report)"
    )
    local = when.astimezone()
    return (
        header + "<table cellspacing='0' cellpadding='2'>"
        f"<tr><td>Sample</td><td><b>{esc(sample.sample_id or '(no sample ID)')}</b>"
        f"{' &nbsp; patient ' + esc(sample.patient_ref) if sample.patient_ref else ''}</td></tr>"
        f"<tr><td>Reviewer</td><td>{esc(session.reviewer or '(none)')}; {signed}</td></tr>"
        f"<tr><td>Printed</td><td>{esc(local.strftime('%Y-%m-%d %H:%M'))} {esc(local.tzname() or '')} "
        f"&nbsp;·&nbsp; BloodCell {esc(__version__)}</td></tr>"
        + (f"<tr><td>Comments</td><td>{esc(sample.comments)}</td></tr>" if sample.comments else "")
        + "</table>"
    )


def report_html(
    session: ReviewSession, model_name: str, model_sha256: str, when: datetime, lab: tuple[str, str] = ("", "")
) -> str:
    counts = session.counts()
    total = sum(counts)
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td align='right'>{count}</td>"
        f"<td align='right'>{(count / total if total else 0):.1%}</td></tr>"
        for name, count in zip(session.classes, counts, strict=True)
    )
    reclassified = sum(1 for r in session.rows if r.verified is not None and r.verified != r.predicted)
    reviewed = sum(1 for r in session.rows if r.reviewed)
    target = session.sample.target_count
    new_lab = session.another_lab() if session.provisional else None
    parts = [
        "<h2>BloodCell differential</h2>",
        *(
            [
                f"<p style='color:#b00020'><b>Provisional:</b> {esc(new_lab.describe())}. The counts below are the "
                f"model's answers; {session.review_count} images still wait for a technician.</p>"
            ]
            if new_lab is not None
            else []
        ),
        sample_html(session, lab, when),
        f"<p>{models_html(session, model_name, model_sha256)}</p>",
        *([f"<p>Pictures {esc(session.magnification.describe())}.</p>"] if session.magnification else []),
        "<table border='1' cellspacing='0' cellpadding='4' width='60%'>"
        "<tr><th align='left'>Class</th><th align='right'>Count</th><th align='right'>Share</th></tr>"
        f"{rows}<tr><td><b>Total</b></td><td align='right'><b>{total}</b></td><td align='right'>100%</td></tr>"
        "</table>",
        f"<p>{total} cells counted of a target of {target}"
        f"{'' if total >= target else f' (<b>{target - total} short</b>)'}.</p>",
        f"<p>Images classified: {session.classified}; reviewed by a technician: {reviewed}; "
        f"reclassified: {reclassified}; still below the review threshold "
        f"({session.threshold:.0%}): {session.review_count}; unidentified (not counted above): "
        f"{session.unidentified_count}; unreadable files: {len(session.failed)}.</p>",
        "<p>Counts use the technician's class where one was given, else the model's; an image the model "
        "did not recognise as a white cell it was trained on is counted only once a technician gives it a class.</p>",
    ]
    evaluation = session.evaluation()
    if evaluation is not None:
        parts.append(
            f"<h3>Against folder ground truth: {accuracy_words(evaluation.to_json())} "
            f"({evaluation.total} images)</h3>"
            f"<p><img src='{HEATMAP_URL.toString()}' width='480'></p>"
            + per_class_table_html(evaluation.per_class(), width="60%")
        )
    return "".join(parts)


def render_pdf(
    session: ReviewSession,
    model_name: str,
    model_sha256: str,
    when: datetime | None = None,
    lab: tuple[str, str] = ("", ""),
) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageLayout(
        QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, QMarginsF(15, 15, 15, 15))
    )
    writer.setResolution(150)
    writer.setTitle("BloodCell differential")
    writer.setCreator("BloodCell")

    document = QTextDocument()
    document.documentLayout().setPaintDevice(writer)
    document.setPageSize(writer.pageLayout().paintRectPixels(writer.resolution()).size().toSizeF())
    evaluation = session.evaluation()
    if evaluation is not None:
        image = heatmap_image(session.classes, evaluation.confusion.tolist())
        document.addResource(QTextDocument.ResourceType.ImageResource, HEATMAP_URL, image)
    document.setHtml(report_html(session, model_name, model_sha256, when or datetime.now(UTC), lab))

    # Page by page: a long comment or lab header continues on the next page and never pushes the
    # differential off the one page that drawing the whole document at once would give.
    document.print_(writer)
    buffer.close()
    return bytes(data)


def write_pdf(
    path: Path | str, session: ReviewSession, model_name: str, model_sha256: str, lab: tuple[str, str] = ("", "")
) -> None:
    atomic_write_bytes(path, render_pdf(session, model_name, model_sha256, lab=lab))
