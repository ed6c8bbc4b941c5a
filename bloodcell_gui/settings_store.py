"""What the app remembers between runs (QSettings): window layout, review threshold, recent
models and the last folder of each kind."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from model.review.session import DEFAULT_REVIEW_THRESHOLD
from model.unfamiliar.statistics import DEFAULT_PASS_SHARE

MAX_RECENT_MODELS = 8


class SettingsStore:
    def __init__(self, settings: QSettings | None = None) -> None:
        self.settings = settings or QSettings()

    # -- window
    def geometry(self) -> QByteArray | None:
        return self.settings.value("window/geometry")

    def splitter(self) -> QByteArray | None:
        return self.settings.value("window/splitter")

    def save_window(self, geometry: QByteArray, splitter: QByteArray) -> None:
        self.settings.setValue("window/geometry", geometry)
        self.settings.setValue("window/splitter", splitter)
        self.settings.sync()

    # -- review
    def threshold(self) -> float:
        try:
            value = float(self.settings.value("review/threshold", DEFAULT_REVIEW_THRESHOLD))
        except (TypeError, ValueError):
            return DEFAULT_REVIEW_THRESHOLD
        return value if 0.0 <= value <= 1.0 else DEFAULT_REVIEW_THRESHOLD

    def set_threshold(self, value: float) -> None:
        self.settings.setValue("review/threshold", value)

    def familiar_share(self) -> float:
        """The share of a model's familiar (held-out) images that pass the Unidentified gate."""
        try:
            value = float(self.settings.value("review/familiar_share", DEFAULT_PASS_SHARE))
        except (TypeError, ValueError):
            return DEFAULT_PASS_SHARE
        return value if 0.8 <= value <= 0.999 else DEFAULT_PASS_SHARE

    def set_familiar_share(self, value: float) -> None:
        self.settings.setValue("review/familiar_share", value)

    # -- the reviewer and the lab (per PC user)
    def reviewer(self) -> str:
        return str(self.settings.value("review/reviewer", "") or "")

    def set_reviewer(self, name: str) -> None:
        self.settings.setValue("review/reviewer", name)

    def lab_header(self) -> tuple[str, str]:
        name = self.settings.value("report/lab_name", "") or ""
        return str(name), str(self.settings.value("report/lab_address", "") or "")

    def set_lab_header(self, name: str, address: str) -> None:
        self.settings.setValue("report/lab_name", name)
        self.settings.setValue("report/lab_address", address)

    def lab_magnification(self) -> float | None:
        """This lab's magnification relative to the model's training pictures, fixed by hand
        (its camera and objective are known); None: measured on each batch's own pictures. A
        value the engine would refuse (edited by hand) counts as None."""
        from model.images.magnification import LIMITS

        try:
            value = float(self.settings.value("lab/magnification", "") or "nan")
        except (TypeError, ValueError):
            return None
        return value if LIMITS[0] <= value <= LIMITS[1] else None

    def set_lab_magnification(self, value: float | None) -> None:
        self.settings.setValue("lab/magnification", "" if value is None else f"{value:g}")

    # -- models
    def recent_models(self) -> list[str]:
        value = self.settings.value("models/recent", [])
        return [value] if isinstance(value, str) else [str(v) for v in value or []]

    def last_model(self) -> Path | None:
        last = self.settings.value("models/last")
        return Path(last) if last and Path(last).is_file() else None

    def remember_model(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_models() if p != str(path)]
        self.settings.setValue("models/recent", recent[:MAX_RECENT_MODELS])
        self.settings.setValue("models/last", str(path))

    # -- folders
    def folder(self, kind: str) -> str:
        return str(self.settings.value(f"folders/{kind}", str(Path.home())))

    def remember_folder(self, kind: str, path: Path) -> None:
        self.settings.setValue(f"folders/{kind}", str(path))
