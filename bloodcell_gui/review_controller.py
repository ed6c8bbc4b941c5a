"""The technician's decisions on images: reclassify, mark reviewed, undo; then on to the next."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu


class ReviewController(QObject):
    """Decisions in `window`'s views (its `results`, `current_view`, `selected_rows`,
    `current_row`, `show_detail`, and the Review menu's actions); `sessions` refuses them on a
    signed session and records them."""

    def __init__(self, window, sessions) -> None:
        super().__init__(window)
        self.window, self.sessions = window, sessions

    def context_menu(self, position) -> None:
        window = self.window
        if window.results is None or not window.selected_rows():
            return
        menu = QMenu(window)
        reclassify = menu.addMenu("Reclassify as")
        for action in window.class_actions.actions():
            reclassify.addAction(action)
        menu.addAction(window.mark_reviewed_action)
        menu.addAction(window.clear_verified_action)
        menu.popup(window.current_view().viewport().mapToGlobal(position))

    def reclassify_rows(self, rows: list[int], class_index: int | None) -> None:
        results = self.window.results
        if results is None or not rows:
            return
        self.decide(lambda: results.set_verified(rows, class_index), advance=class_index is not None)

    def mark_selected_reviewed(self, reviewed: bool) -> None:
        rows = self.window.selected_rows()
        results = self.window.results
        if results is not None and rows:
            self.decide(lambda: results.set_reviewed(rows, reviewed), advance=True)

    def decide(self, decision, advance: bool) -> None:
        """Apply a decision, then select and show the next image, ready for the next key: in
        the review bin the decided image leaves and the next takes its place."""
        if self.sessions.refuse_if_signed():
            return
        view = self.window.current_view()
        proxy = view.model()
        position = view.currentIndex().row() if view.currentIndex().isValid() else 0
        before = proxy.rowCount()
        decision()  # every view's filter takes the decided rows in or out (dynamic filtering)
        self.sessions.changed()
        if advance and proxy.rowCount():
            step = 0 if proxy.rowCount() < before else 1
            target = proxy.index(min(position + step, proxy.rowCount() - 1), 0)
            view.setCurrentIndex(target)
            flags = view.selectionModel().SelectionFlag
            view.selectionModel().select(target, flags.ClearAndSelect | flags.Rows)
        current = self.window.current_row()
        if current is not None:
            self.window.show_detail(current)
        view.setFocus()
