"""What a model file records, shown to a person."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from model.symmetry import VIEW_SETS

if TYPE_CHECKING:
    from model.modelfile import ModelInfo


def model_info_html(info: ModelInfo, path: Path, sha256: str) -> str:
    esc = html.escape
    policy = info.policy
    training = info.training
    settings = training.get("settings", {})
    data = training.get("data", {})
    rows = [
        ("Name", info.name),
        ("File", str(path)),
        ("SHA-256", sha256),
        ("Classes", ", ".join(info.classes)),
        ("Architecture", info.arch),
        ("Input", policy.describe()),
        ("Classification", VIEW_SETS[info.test_time_views]),
        ("Created", info.created),
        ("App version", info.app_version),
    ]
    if settings:
        rows.append(
            (
                "Training settings",
                f"{settings.get('epochs')} epochs, batch size {settings.get('batch_size')}, "
                f"learning rate {settings.get('lr')}, augmentation {settings.get('augmentation')}",
            )
        )
    if training.get("seconds") is not None:
        rows.append(("Training time", f"{training['seconds'] / 60:.1f} min on {training.get('device', '?')}"))
    train = data.get("train") if isinstance(data, dict) else None
    if isinstance(train, dict):
        counts = ", ".join(f"{k} {v}" for k, v in train.get("counts", {}).items())
        rows.append(("Training data", f"{train.get('root')}: {counts}"))
    if info.notes:
        rows.append(("Notes", info.notes))
    body = "".join(f"<tr><th align='left' valign='top'>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in rows)
    metrics = []
    for split, values in info.metrics.items():
        if isinstance(values, dict) and values.get("accuracy") is not None:
            metrics.append(f"<li>{esc(split)}: accuracy {values['accuracy']:.1%}</li>")
            per_class = values.get("per_class") or {}
            if per_class:
                metrics.append(
                    "<table border='1' cellspacing='0' cellpadding='3'><tr><th>class</th><th>precision</th>"
                    "<th>recall</th><th>F1</th><th>images</th></tr>"
                    + "".join(
                        f"<tr><td>{esc(name)}</td><td>{m['precision']:.1%}</td><td>{m['recall']:.1%}</td>"
                        f"<td>{m['f1']:.3f}</td><td>{m['support']}</td></tr>"
                        for name, m in per_class.items()
                    )
                    + "</table>"
                )
    metrics_html = f"<h3>Metrics</h3><ul>{''.join(metrics)}</ul>" if metrics else ""
    return f"<table cellpadding='3'>{body}</table>{metrics_html}"


class ModelInfoDialog(QDialog):
    def __init__(self, info: ModelInfo, path: Path, sha256: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Model information: {info.name}")
        self.resize(640, 560)
        self.text = QTextBrowser()
        self.text.setHtml(model_info_html(info, path, sha256))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
