"""What a model file records, shown to a person."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from bloodcell_gui.html_tables import accuracy_words, per_class_table_html
from bloodcell_gui.screens import fit_to_screen
from model.fileformat.header import LAB_STATISTICS
from model.images.symmetry import VIEW_SETS

if TYPE_CHECKING:
    from model.modelfile.torch_file import ModelInfo


def model_info_html(info: ModelInfo, path: Path, sha256: str) -> str:
    esc = html.escape

    def table(rows: list[tuple[str, str]]) -> str:
        body = "".join(f"<tr><th align='left' valign='top'>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in rows)
        return f"<table cellpadding='3'>{body}</table>"

    rows = [("Name", info.name), ("File", str(path)), ("SHA-256", sha256), ("Classes", ", ".join(info.classes))]
    if info.is_ensemble:
        rows.append(("Architecture", f"an ensemble of {len(info.members)} networks; their probabilities are averaged"))
    else:
        rows += network_rows(info)
    rows += [("Created", info.created), ("App version", info.app_version)]
    if info.notes:
        rows.append(("Notes", info.notes))
    sections = [table(rows)]
    for number, member in enumerate(info.members, start=1):
        member_rows = network_rows(member)
        if member.test_accuracy is not None:
            member_rows.append(("Test accuracy alone", f"{member.test_accuracy:.1%}"))
        if member.notes:
            member_rows.append(("Notes", member.notes))
        sections.append(
            f"<h3>Network {number}: {esc(member.name)}</h3>{table(member_rows)}"
            + metrics_html(member.metrics, f"Network {number}'s metrics")
        )
    for number, step in enumerate(info.adaptations, start=1):
        sections.append(f"<h3>Adaptation {number}</h3>{table(adaptation_rows(step))}")
    return "".join(sections) + metrics_html(info.metrics)


def adaptation_rows(step: dict) -> list[tuple[str, str]]:
    """One step in the model's chain: its parent, and the cells with before and after (a
    fine-tuning) or the images its normalisation was measured on (a lab match)."""
    parent = [
        ("Adapted from", f"{step.get('parent_name', '?')} ({step.get('parent_file', '?')})"),
        ("Parent SHA-256", str(step.get("parent_sha256", "?"))),
        ("Date", str(step.get("date", "?"))),
    ]
    if step.get("kind") == LAB_STATISTICS:
        return [
            *parent,
            ("What changed", "BatchNorm statistics re-measured on the lab's own images; weights kept"),
            ("Images measured", f"{step.get('images', '?')} ({step.get('left_out', '?')} left out)"),
        ]

    def counts(key: str) -> str:
        value = step.get(key)
        return ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else "?"

    def figures(key: str) -> str:
        value = step.get(key)
        if not isinstance(value, dict):
            return "not measured"
        try:
            return (
                f"{value['accuracy']:.1%} correct, balanced {value['balanced_accuracy']:.1%} "
                f"on {value['images']} held-back cells"
            )
        except (KeyError, TypeError, ValueError):
            return "?"

    return [
        *parent,
        ("Cells trained on", counts("cells_per_class")),
        ("Cells held back", counts("held_back_per_class")),
        ("Before", figures("before")),
        ("After", figures("after")),
    ]


def network_rows(info: ModelInfo) -> list[tuple[str, str]]:
    """What one network records: architecture, input, views, training."""
    training = info.training
    settings = training.get("settings", {})
    data = training.get("data", {})
    rows = [
        ("Architecture", info.arch),
        ("Input", info.policy.describe()),
        ("Classification", VIEW_SETS[info.test_time_views]),
    ]
    if isinstance(settings, dict) and settings:
        rows.append(
            (
                "Training settings",
                f"{settings.get('epochs')} epochs, batch size {settings.get('batch_size')}, "
                f"learning rate {settings.get('lr')}, validation {settings_words(settings, VALIDATION_KEYS)}",
            )
        )
        augmentation = settings.get("augmentation")
        if isinstance(augmentation, dict):
            rows.append(("Augmentation", settings_words(augmentation, AUGMENTATION_WORDS)))
    if training.get("seconds") is not None:
        rows.append(("Training time", f"{training['seconds'] / 60:.1f} min on {training.get('device', '?')}"))
    sources = data.get("sources") if isinstance(data, dict) else None
    train = data.get("train") if isinstance(data, dict) else None
    if isinstance(sources, list) and sources:  # several labs: each with its counts and held-out share
        for number, source in enumerate(sources, start=1):
            if isinstance(source, dict):
                rows.append((f"Source {number}", source_words(source)))
    elif isinstance(train, dict):
        rows.append(("Training data", source_words(train)))
    return rows


# Recorded setting -> what a person reads; settings that are off (0, false, none) are left out.
AUGMENTATION_WORDS = {
    "max_rotate": "rotation up to {}°",
    "flip_vert": "vertical flips",
    "min_zoom": "zoom from {}",
    "max_zoom": "zoom up to {}",
    "max_warp": "warp up to {}",
    "max_lighting": "lighting up to {}",
    "stain": "stain re-mixing {}",
    "hue": "hue up to {}",
    "saturation": "saturation up to {}",
    "colour_cast": "colour cast up to {} Lab units",
    "colour_share": "colour changes for a share {} of pictures",
}
VALIDATION_KEYS = {
    "valid_pct": "share {}",
    "split_by_cell": "split by cell",
    "holdout_percent": "{} % held out by name",
    "patience": "early stopping after {} epochs",
}


def settings_words(settings: dict, words: dict[str, str]) -> str:
    """The settings named in `words`, as a sentence; those that are off are not mentioned."""
    said = []
    for key, template in words.items():
        value = settings.get(key)
        if value in (None, False, 0, 0.0, "") or isinstance(value, (dict, list)):
            continue
        said.append(template.format(f"{value:g}" if isinstance(value, float) else value))
    return ", ".join(said) or "none"


def source_words(source: dict) -> str:
    """A training folder, its images per class, and how many of them were set aside by name."""
    counts = source.get("counts")
    words = f"{source.get('root')}: " + (
        ", ".join(f"{k} {v}" for k, v in counts.items()) if isinstance(counts, dict) else "?"
    )
    if source.get("held_out"):
        words += f"; {source['held_out']} images held out by name, never trained on"
    return words


def metrics_html(all_metrics: dict, title: str = "Metrics") -> str:
    metrics = []
    by_source = all_metrics.get("valid_by_source")
    if isinstance(by_source, dict):  # each lab's own validation cells
        all_metrics = {**all_metrics, **{f"valid, {source}": values for source, values in by_source.items()}}
    for split, values in all_metrics.items():
        if isinstance(values, dict) and isinstance(values.get("accuracy"), (int, float)):
            metrics.append(f"<li>{html.escape(split)}: {accuracy_words(values)}</li>")
            per_class = values.get("per_class")
            if isinstance(per_class, dict) and per_class:
                metrics.append(per_class_table_html(per_class))
    return f"<h3>{html.escape(title)}</h3><ul>{''.join(metrics)}</ul>" if metrics else ""


class ModelInfoDialog(QDialog):
    def __init__(self, info: ModelInfo, path: Path, sha256: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Model information: {info.name}")
        fit_to_screen(self, 640, 560)
        self.text = QTextBrowser()
        self.text.setHtml(model_info_html(info, path, sha256))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
