"""File › Export CSV and Export PDF report: atomic writes, failures reported, folders remembered."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from bloodcell_gui.workers import describe_error
from model.review.audit import EXPORTED
from model.review.export import write_session_csv


class ExportActions:
    """Exports of a main window that has `results`, `loaded`, `store` and `report_error`."""

    def _model_identity(self) -> tuple[str, str]:
        if self.loaded is None:
            return "", ""
        return self.loaded.classifier.info.name, self.loaded.sha256

    def export_csv(self, path: Path) -> bool:
        name, sha256 = self._model_identity()
        return self._export(
            path, lambda: write_session_csv(self.results.session, path, model_name=name, model_sha256=sha256)
        )

    def export_pdf(self, path: Path) -> bool:
        from bloodcell_gui.report import write_pdf

        lab = self.store.lab_header()
        return self._export(path, lambda: write_pdf(path, self.results.session, *self._model_identity(), lab=lab))

    def _export(self, path: Path, write) -> bool:
        """Run an (atomic) export; a failure is reported and leaves any earlier file as it was."""
        if self.results is None:
            return False
        try:
            write()
        except OSError as error:
            self.report_error("Export failed", f"{path}: {error.strerror or error}\nNothing was overwritten.")
            return False
        except Exception as error:  # noqa: BLE001 - whatever breaks an export is reported, none escapes
            self.report_error("Export failed", f"{path}: {describe_error(error)}\nNothing was overwritten.")
            return False
        self.statusBar().showMessage(f"Wrote {path}", 5000)
        self.results.session.record(EXPORTED, file=str(path))
        self.session_changed(decision=False)
        return True

    def export_csv_dialog(self) -> None:
        self._export_dialog("Export CSV", "results.csv", "CSV (*.csv)", self.export_csv)

    def export_pdf_dialog(self) -> None:
        self._export_dialog("Export PDF report", "report.pdf", "PDF (*.pdf)", self.export_pdf)

    def _export_dialog(self, title: str, name: str, pattern: str, export) -> None:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(self.store.folder("exports")) / name), pattern)
        if path and export(Path(path)):  # a folder where the export failed is not offered again
            self.store.remember_folder("exports", Path(path).parent)
