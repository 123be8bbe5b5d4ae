"""How one key of a populate run is reserved, made and recorded in the jobs table.

A key step takes ``(table, key, restrictions)`` and returns what DataJoint's per-key
routine returns: True (``make`` ran and committed), False (not made: another worker had
reserved the key, or it was made already) or ``(key, exception)`` (``make`` failed; the
job holds the error).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._counts import jobs_table

__all__ = ["KeyOutcome", "KeyStep", "error_message", "populate_with_jobs"]

KeyOutcome = bool | tuple[dict, BaseException]
KeyStep = Callable[[Any, dict, Sequence[Any]], KeyOutcome]


def error_message(error: BaseException) -> str:
    """``"ExceptionType: message"``, as DataJoint writes it into the jobs table."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def populate_with_jobs(table: Any, key: dict, restrictions: Sequence[Any]) -> KeyOutcome:
    """Reserve ``key``, make it in a transaction, complete or fail its job: DataJoint's
    per-key routine of the distributed populate."""
    return table._populate1(
        key, jobs=jobs_table(table), suppress_errors=True, return_exception_objects=True
    )
