"""The one error the curation model raises for bad input."""

from __future__ import annotations

__all__ = ["CurationError"]


class CurationError(ValueError):
    """An action, import or query was given input it cannot use.

    The message says what was wrong and what is expected, for people. Raising it never
    changes anything: a session keeps its state, its history and its draft.
    """
