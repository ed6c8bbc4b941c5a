"""The per-class table (model.evaluation.evaluate.per_class_rows) as rich text, for the model-information
dialog and the PDF report."""

from __future__ import annotations

import html

import numpy as np

from model.evaluation.evaluate import PER_CLASS_HEADER, Evaluation, per_class_rows


def per_class_table_html(per_class: dict[str, dict], width: str = "") -> str:
    header = "".join(
        f"<th align='{'left' if i == 0 else 'right'}'>{html.escape(title)}</th>"
        for i, title in enumerate(PER_CLASS_HEADER)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td align='{'left' if i == 0 else 'right'}'>{html.escape(v)}</td>" for i, v in enumerate(row))
        + "</tr>"
        for row in per_class_rows(per_class)
    )
    size = f" width='{width}'" if width else ""
    return f"<table border='1' cellspacing='0' cellpadding='4'{size}><tr>{header}</tr>{body}</table>"


def accuracy_words(metrics: dict) -> str:
    """Accuracy, with balanced accuracy and macro-F1: recorded, or worked out from the recorded
    confusion matrix (files written before they were recorded)."""
    metrics = dict(metrics)
    confusion = metrics.get("confusion")
    if "balanced_accuracy" not in metrics and isinstance(confusion, list) and confusion:
        try:
            matrix = np.array(confusion, dtype=np.int64)
            if matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1] and (matrix >= 0).all():
                evaluation = Evaluation([str(i) for i in range(len(matrix))], matrix)
                metrics |= {"balanced_accuracy": evaluation.balanced_accuracy, "macro_f1": evaluation.macro_f1}
        except (ValueError, TypeError, OverflowError):
            pass  # a malformed matrix: show what is recorded
    words = f"accuracy {metrics['accuracy']:.1%}"
    if isinstance(metrics.get("balanced_accuracy"), (int, float)):
        words += f", balanced accuracy {metrics['balanced_accuracy']:.1%}"
    if isinstance(metrics.get("macro_f1"), (int, float)):
        words += f", macro-F1 {metrics['macro_f1']:.3f}"
    return words
