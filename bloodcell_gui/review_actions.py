"""The technician's decisions on images: reclassify, mark reviewed, undo; then on to the next."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu

from bloodcell_gui.results_model import ResultsFilter


class ReviewActions:
    """Decisions of a main window that has `results`, views with `current_view`, `selected_rows`,
    `current_row`, `class_actions` and the reviewed/clear actions, and `_show_detail`."""

    def _context_menu(self, position) -> None:
        if self.results is None or not self.selected_rows():
            return
        menu = QMenu(self)
        reclassify = menu.addMenu("Reclassify as")
        for action in self.class_actions.actions():
            reclassify.addAction(action)
        menu.addAction(self.mark_reviewed_action)
        menu.addAction(self.clear_verified_action)
        menu.popup(self.current_view().viewport().mapToGlobal(position))

    def _reclassify_rows(self, rows: list[int], class_index: int | None) -> None:
        if self.results is None or not rows:
            return
        self._decide(lambda: self.results.set_verified(rows, class_index), advance=class_index is not None)

    def _mark_selected_reviewed(self, reviewed: bool) -> None:
        rows = self.selected_rows()
        if self.results is not None and rows:
            self._decide(lambda: self.results.set_reviewed(rows, reviewed), advance=True)

    def _decide(self, decision, advance: bool) -> None:
        """Apply a decision, then select and show the next image, ready for the next key: in
        the review bin the decided image leaves and the next takes its place."""
        if self._refuse_if_signed():
            return
        view = self.current_view()
        proxy = view.model()
        position = view.currentIndex().row() if view.currentIndex().isValid() else 0
        before = proxy.rowCount()
        decision()
        self.session_changed()
        if isinstance(proxy, ResultsFilter):
            proxy.refilter()
        if advance and proxy.rowCount():
            step = 0 if proxy.rowCount() < before else 1
            target = proxy.index(min(position + step, proxy.rowCount() - 1), 0)
            view.setCurrentIndex(target)
            view.selectionModel().select(
                target, view.selectionModel().SelectionFlag.ClearAndSelect | view.selectionModel().SelectionFlag.Rows
            )
        current = self.current_row()
        if current is not None:
            self._show_detail(current)
        view.setFocus()
