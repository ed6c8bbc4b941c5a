"""File › Export CSV and Export PDF report: atomic writes through the review document (which
records them in the trail), failures reported, folders remembered."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from bloodcell_gui.settings_store import SettingsStore
from bloodcell_gui.workers import describe_error


class ExportController(QObject):
    """Exports of `window`'s session (its `loaded` model, `report_error`, `status_message`)."""

    def __init__(self, window, store: SettingsStore, sessions) -> None:
        super().__init__(window)
        self.window, self.store, self.sessions = window, store, sessions

    def _model_identity(self) -> tuple[str, str]:
        loaded = self.window.loaded
        if loaded is None:
            return "", ""
        return loaded.classifier.info.name, loaded.sha256

    def export_csv(self, path: Path) -> bool:
        name, sha256 = self._model_identity()
        return self._export(path, lambda: self.sessions.document.export_csv(path, model_name=name, model_sha256=sha256))

    def export_pdf(self, path: Path) -> bool:
        from bloodcell_gui.report import write_pdf

        lab = self.store.lab_header()
        document = self.sessions.document
        session = document.session
        return self._export(
            path, lambda: document.exported(path, lambda: write_pdf(path, session, *self._model_identity(), lab=lab))
        )

    def _export(self, path: Path, export) -> bool:
        """Run an (atomic) export; a failure is reported and leaves any earlier file as it was."""
        if self.window.results is None:
            return False
        try:
            export()
        except OSError as error:
            self.window.report_error("Export failed", f"{path}: {error.strerror or error}\nNothing was overwritten.")
            return False
        except Exception as error:  # noqa: BLE001 - whatever breaks an export is reported, none escapes
            self.window.report_error("Export failed", f"{path}: {describe_error(error)}\nNothing was overwritten.")
            return False
        self.window.status_message(f"Wrote {path}", 5000)
        self.sessions.show_title()
        return True

    def export_csv_dialog(self) -> None:
        self._export_dialog("Export CSV", "results.csv", "CSV (*.csv)", self.export_csv)

    def export_pdf_dialog(self) -> None:
        self._export_dialog("Export PDF report", "report.pdf", "PDF (*.pdf)", self.export_pdf)

    def _export_dialog(self, title: str, name: str, pattern: str, export) -> None:
        suggested = str(Path(self.store.folder("exports")) / name)
        path, _ = QFileDialog.getSaveFileName(self.window, title, suggested, pattern)
        if path and export(Path(path)):  # a folder where the export failed is not offered again
            self.store.remember_folder("exports", Path(path).parent)
