"""Images in: drops onto the window (always as a copy) and the Open files / Open folder dialogs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog


class InputActions:
    """What a main window with `classify`, `store` and `center_stack` takes in."""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            # A copy, never a move: a file manager deletes what it moves.
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self._highlight_drop(True)

    def dragMoveEvent(self, event) -> None:
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dragLeaveEvent(self, event) -> None:
        self._highlight_drop(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._highlight_drop(False)
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.classify(paths)

    def _highlight_drop(self, on: bool) -> None:
        """Show that a drop here will be taken (the style sheet colours `[dropTarget=true]`)."""
        self.center_stack.setProperty("dropTarget", on)
        self.center_stack.style().unpolish(self.center_stack)
        self.center_stack.style().polish(self.center_stack)

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Open images",
            self.store.folder("images"),
            "Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff);;All files (*)",
        )
        if files:
            self.store.remember_folder("images", Path(files[0]).parent)
            self.classify([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self.store.folder("images"))
        if folder:
            self.store.remember_folder("images", Path(folder).parent)
            self.classify([Path(folder)])
