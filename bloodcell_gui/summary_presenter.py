"""What the window shows about the session as a whole: the differential and its totals, the
tabs' counts, the new-lab hint, the ground-truth heatmap, and the filters they drive. It reads
the engine's ReviewSession and sets widgets; it decides nothing."""

from __future__ import annotations

import html

from PySide6.QtCore import QObject

from bloodcell_gui.main_layout import NO_TRUTH_YET
from bloodcell_gui.results_model import ViewFilter
from model.common.editions import training_available
from model.unfamiliar.statistics import AnotherLab

PROVISIONAL_WORDS = (
    "The images look like a lab new to the model: its answers are provisional until a technician has "
    "reviewed every one of them (Review tab)."
)


class SummaryPresenter(QObject):
    """The summary widgets of `window` (built by MainLayout) kept in step with its results."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    # -- filters
    def filter_class(self, index: int) -> None:
        self.apply_filter(ViewFilter() if index < 0 else ViewFilter(final_class=index))

    def filter_cell(self, true_index: int, predicted_index: int) -> None:
        window = self.window
        cell = (true_index, predicted_index)
        self.apply_filter(ViewFilter() if window.grid_filter.view_filter.cell == cell else ViewFilter(cell=cell))
        window.tabs.setCurrentWidget(window.grid)

    def apply_filter(self, view_filter: ViewFilter) -> None:
        window = self.window
        if window.results is None:
            return
        window.grid_filter.set_filter(ViewFilter(**{**view_filter.__dict__, "readable_only": True}))
        window.table_filter.set_filter(view_filter)
        window.differential.set_selected(view_filter.final_class)
        window.heatmap.set_selected(view_filter.cell)
        description = view_filter.describe(window.results.classes)
        window.filter_label.setText(f"Showing only: {description} ({window.table_filter.rowCount()} images)")
        window.filter_bar.setVisible(bool(description))

    # -- totals
    def refresh(self) -> None:
        window = self.window
        if window.results is None:
            return
        session = window.results.session
        totals = session.summary()  # one pass over the rows: milliseconds at 2,000
        window.differential.set_counts(session.classes, totals.counts)
        failed, reviewed = totals.unreadable, totals.reviewed
        to_review, unidentified_count = totals.to_review, totals.unidentified
        can_tell = window.loaded is not None and window.loaded.classifier.references is not None
        unidentified = f"{unidentified_count} unidentified" if can_tell else "unidentified: not available"
        magnification = f" · magnification ×{session.magnification.factor:.2f}" if session.magnification else ""
        window.totals.setText(
            f"{totals.classified} classified · {to_review} to review · {unidentified} · "
            f"{reviewed} reviewed · {failed} unreadable{magnification}"
        )
        window.totals.setToolTip(session.magnification.describe() if session.magnification else "")
        self.show_lab_hint(session.another_lab())
        # A signed session keeps the thresholds it was signed with: the settings cannot move them.
        window.threshold.setEnabled(not session.signed)
        window.familiar_share.setEnabled(not session.signed and can_tell)
        provisional = totals.provisional
        window.differential_box.setTitle("Differential (provisional)" if provisional else "Differential")
        window.differential_box.setToolTip(PROVISIONAL_WORDS if provisional else "")
        tabs = window.tabs
        tabs.setTabText(tabs.indexOf(window.review_view), f"Review ({to_review})")
        tabs.setTabText(tabs.indexOf(window.unidentified_view), f"Unidentified ({unidentified_count})")
        tabs.setTabText(tabs.indexOf(window.failed_view), f"Unreadable ({failed})")
        self._show_truth(session)

    def _show_truth(self, session) -> None:
        window = self.window
        evaluation = session.evaluation()
        if evaluation is None:
            window.heatmap.clear()
            window.accuracy.setText(NO_TRUTH_YET)
            return
        window.heatmap.set_data(session.classes, evaluation.confusion.tolist())
        window.accuracy.setText(
            f"Accuracy <b>{evaluation.accuracy:.1%}</b> on {evaluation.total} images with a class folder "
            f"(balanced accuracy {evaluation.balanced_accuracy:.1%}, macro-F1 {evaluation.macro_f1:.3f}). "
            "Click a cell to see its images."
        )

    def show_lab_hint(self, new_lab: AnotherLab | None) -> None:
        window = self.window
        if new_lab is None:
            window.lab_hint.hide()
            return
        if not training_available():
            link = '<a href="where">How to fit the model to this lab…</a>'
        elif window.models.can_match_lab():
            link = '<a href="match">Match the model to this lab\'s images…</a>'
        else:  # normalised per picture: nothing to match, but verified cells can adapt it
            link = '<a href="adapt">Adapt the model from cells verified here…</a>'
        window.lab_hint.setText(f"<b>A new lab?</b> {html.escape(new_lab.describe())}. {link}")
        window.lab_hint.show()

    def lab_hint_link(self, link: str) -> None:
        verified = self.window.verified_cells
        opens = {"match": verified.open_match_lab_dialog, "adapt": verified.open_adapt_dialog}
        opens.get(link, verified.explain_where_to_train)()
