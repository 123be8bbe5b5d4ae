"""The curation dock's Suggest tab: learn from committed curations, accept above p
(mixed into :class:`CurateRois`)."""

from __future__ import annotations

from typing import Any

from ._worker import show_message

__all__ = ["SuggestMixin"]


class SuggestMixin:
    """Suggest and accept suggestions (the dock provides ``model``, ``message``, ``_error``)."""

    # -- suggestions -----------------------------------------------------------------------------
    def suggest(self) -> None:
        """Learn from the pipeline's committed curations, then show each ROI's
        probability of being a cell in the table."""
        model = self.model
        if model is None:
            self._error("Open a recording's ROIs first.")
            return
        show_message(self.message, "Learning from the committed curations…")
        self._suggesting = model
        self._pool.start(model.suggest, returned=self._suggestions_found, errored=self._error)

    def _suggestions_found(self, found: Any) -> None:
        model = self._suggesting
        if model is not self.model:
            self._error("The recording changed while learning: click Suggest again.")
            return
        try:
            model.set_suggestions(found)
        except ValueError as err:
            self._error(err)
            return
        self._refresh()
        self.suggestions.show_trained_on(model.trained_on, found.counts)
        show_message(self.message, "")
        self.suggested.emit()

    def accept_suggestions(self, p: float) -> None:
        """Label every ROI whose probability is above ``p`` a cell (one undoable action)."""
        if self.model is None:
            return
        try:
            self.model.relabel_where("probability", p, True, "cell")
        except (ValueError, LookupError) as err:
            self._error(err)

