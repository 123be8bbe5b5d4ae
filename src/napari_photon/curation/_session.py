"""A curation session: the current state, unbounded undo/redo, the draft and listeners.

States are immutable :class:`RoiSet` objects that share unchanged ROIs, so the session
keeps every state it has been in; undo and redo move along that list and restore the
exact state object. A new action drops the states ahead (the redo list). After every
action, undo and redo the draft is saved (when the session has a draft path) and then the
change callbacks are called. An action that raises leaves all of that as it was.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..rois import SummaryImages
from ._actions import ACTIONS, count_relabel
from ._draft import load_draft, save_draft
from ._errors import CurationError
from ._packing import fingerprint
from ._roiset import RoiSet

__all__ = ["Change", "CurationSession"]


@dataclass(frozen=True)
class Change:
    """What a change callback receives.

    Attributes
    ----------
    kind : str
        ``"apply"``, ``"undo"`` or ``"redo"``.
    action : str
        The action applied, undone or redone.
    state, previous : RoiSet
        The state now and the one before the change.
    """

    kind: str
    action: str
    state: RoiSet
    previous: RoiSet


class CurationSession:
    """Curating one ROI set: actions with undo/redo, a draft saved after each change.

    Parameters
    ----------
    roiset : RoiSet
        The state to start from.
    draft_path : path, optional
        Where the draft is saved after every change (see :mod:`._draft`); none without.
    source : JSON value, optional
        What is being curated (for instance the ``ROI`` table key), saved in the draft so
        :func:`drafts_for` finds it again.
    history : sequence of str
        Names of actions done before this session (a resumed draft's history); they are
        shown in :attr:`history` but cannot be undone.
    base : str, optional
        Fingerprint of the set the curation started from; default: ``roiset``'s.
    """

    def __init__(self, roiset: RoiSet, draft_path: str | os.PathLike | None = None, *,
                 source: Any = None, history: Sequence[str] = (), base: str | None = None
                 ) -> None:
        if not isinstance(roiset, RoiSet):
            raise CurationError(f"a session curates a RoiSet, not a {type(roiset).__name__}")
        self._states: list[RoiSet] = [roiset]
        self._names: list[str] = []
        self._position = 0
        self._earlier = tuple(history)
        self._callbacks: list[Callable[[Change], None]] = []
        self.draft_path = None if draft_path is None else Path(draft_path)
        self.source = source
        self.base = fingerprint(roiset) if base is None else base

    @classmethod
    def resume(cls, draft_path: str | os.PathLike, images: SummaryImages | None = None
               ) -> CurationSession:
        """A session continuing the draft at ``draft_path`` (saving to it again)."""
        draft = load_draft(draft_path, images)
        return cls(draft.state, draft_path, source=draft.info.source,
                   history=draft.info.history, base=draft.info.base)

    # -- state ----------------------------------------------------------------------------

    @property
    def state(self) -> RoiSet:
        """The current :class:`RoiSet`."""
        return self._states[self._position]

    @property
    def history(self) -> tuple[str, ...]:
        """Names of the actions that led to the current state, oldest first."""
        return self._history_at(self._position)

    @property
    def redo_history(self) -> tuple[str, ...]:
        """Names of the actions :meth:`redo` would re-apply, next first."""
        return tuple(self._names[self._position:])

    @property
    def can_undo(self) -> bool:
        return self._position > 0

    @property
    def can_redo(self) -> bool:
        return self._position < len(self._names)

    def on_change(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every change; returns a function that stops it."""
        self._callbacks.append(callback)

        def disconnect() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return disconnect

    # -- changing -------------------------------------------------------------------------

    def _history_at(self, position: int) -> tuple[str, ...]:
        return self._earlier + tuple(self._names[:position])

    def _save(self, state: RoiSet, history: tuple[str, ...]) -> None:
        if self.draft_path is not None:
            save_draft(self.draft_path, state, history=history, source=self.source,
                       base=self.base)

    def _notify(self, change: Change) -> None:
        for callback in list(self._callbacks):
            callback(change)

    def save_draft(self) -> Path:
        """Save the draft now (done after every change); CurationError without a path."""
        if self.draft_path is None:
            raise CurationError("this session has no draft path")
        self._save(self.state, self.history)
        return self.draft_path

    def apply(self, action: str, /, **args: Any) -> RoiSet:
        """Apply the action named ``action`` (a key of :data:`ACTIONS`) with ``args``.

        Returns the new state. An action that changes nothing is not recorded. The draft
        is saved before the session moves to the new state: if saving fails, the error
        propagates and the session stays where it was.
        """
        function = ACTIONS.get(action)
        if function is None:
            raise CurationError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
        signature = inspect.signature(function)
        try:
            signature.bind(self.state, **args)
        except TypeError as error:
            takes = ", ".join(list(signature.parameters)[1:])
            raise CurationError(f"{action}: {error}; it takes {takes}") from None
        previous = self.state
        new = function(previous, **args)
        if new is previous:
            return new
        self._save(new, self.history + (action,))
        del self._states[self._position + 1:], self._names[self._position:]
        self._states.append(new)
        self._names.append(action)
        self._position += 1
        self._notify(Change("apply", action, new, previous))
        return new

    def _move(self, kind: str, action: str, position: int) -> RoiSet:
        previous = self.state
        self._save(self._states[position], self._history_at(position))
        self._position = position
        self._notify(Change(kind, action, self.state, previous))
        return self.state

    def undo(self) -> RoiSet:
        """Go back to the state before the last action; CurationError if there is none."""
        if not self.can_undo:
            raise CurationError("nothing to undo")
        return self._move("undo", self._names[self._position - 1], self._position - 1)

    def redo(self) -> RoiSet:
        """Re-apply the last undone action; CurationError if there is none."""
        if not self.can_redo:
            raise CurationError("nothing to redo")
        return self._move("redo", self._names[self._position], self._position + 1)

    # -- one method per action ------------------------------------------------------------

    def set_label(self, ids: Iterable[int] | int, label: str) -> RoiSet:
        return self.apply("set_label", ids=ids, label=label)

    def merge(self, ids: Iterable[int]) -> RoiSet:
        return self.apply("merge", ids=ids)

    def split_by_correlation(self, roi_id: int, image: np.ndarray | None = None) -> RoiSet:
        return self.apply("split_by_correlation", roi_id=roi_id, image=image)

    def split_by_line(self, roi_id: int, p0: Sequence[float], p1: Sequence[float]) -> RoiSet:
        return self.apply("split_by_line", roi_id=roi_id, p0=p0, p1=p1)

    def draw(self, mask: Any, label: str = "cell") -> RoiSet:
        return self.apply("draw", mask=mask, label=label)

    def erase(self, roi_id: int, mask: Any) -> RoiSet:
        return self.apply("erase", roi_id=roi_id, mask=mask)

    def delete(self, ids: Iterable[int] | int) -> RoiSet:
        return self.apply("delete", ids=ids)

    def relabel_where(self, metric: str, op: str, value: float, label: str) -> RoiSet:
        return self.apply("relabel_where", metric=metric, op=op, value=value, label=label)

    def count_relabel(self, metric: str, op: str, value: float, label: str) -> int:
        """How many ROIs :meth:`relabel_where` would relabel now."""
        return count_relabel(self.state, metric, op, value, label)
