"""Images in: drops onto the window (always as a copy) and the Open files / Open folder dialogs.
An event filter on the window, so the window needs no drag-and-drop methods of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from bloodcell_gui.settings_store import SettingsStore


class InputController(QObject):
    """Takes files into `classify`; `highlight` is the widget that shows a drop will be taken."""

    def __init__(
        self, window: QWidget, store: SettingsStore, classify: Callable[[list[Path]], None], highlight: QWidget
    ) -> None:
        super().__init__(window)
        self.window, self.store, self.classify, self.highlight = window, store, classify, highlight
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.DragEnter:
            data = event.mimeData()
            if data.hasUrls() and any(url.isLocalFile() for url in data.urls()):
                # A copy, never a move: a file manager deletes what it moves.
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                self._highlight_drop(True)
            return True
        if kind == QEvent.Type.DragMove:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            return True
        if kind == QEvent.Type.DragLeave:
            self._highlight_drop(False)
            return True
        if kind == QEvent.Type.Drop:
            self._highlight_drop(False)
            paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
            if paths:
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                self.classify(paths)
            return True
        return super().eventFilter(watched, event)

    def _highlight_drop(self, on: bool) -> None:
        """Show that a drop here will be taken (the style sheet colours `[dropTarget=true]`)."""
        self.highlight.setProperty("dropTarget", on)
        self.highlight.style().unpolish(self.highlight)
        self.highlight.style().polish(self.highlight)

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self.window,
            "Open images",
            self.store.folder("images"),
            "Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff);;All files (*)",
        )
        if files:
            self.store.remember_folder("images", Path(files[0]).parent)
            self.classify([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open folder", self.store.folder("images"))
        if folder:
            self.store.remember_folder("images", Path(folder).parent)
            self.classify([Path(folder)])
