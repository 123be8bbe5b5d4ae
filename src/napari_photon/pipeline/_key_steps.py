"""How one key of a populate run is reserved, made and recorded: DataJoint's populate.

A key step takes ``(table, key, restrictions)`` and returns what DataJoint's per-key
routine returns: True (``make`` ran and committed), False (not made: another worker had
reserved the key, or it was made already) or ``(key, exception)`` (``make`` failed; the
key's job holds the error).

* :func:`populate_reserved` -- ``table.populate(*restrictions, key, reserve_jobs=True,
  max_calls=1, ...)``: DataJoint's distributed populate, for a process's main thread (the
  child process of :mod:`._child_runner`, a headless worker). It installs a SIGTERM
  handler, which Python allows only there.
* :func:`populate_in_thread` -- the same protocol for a helper thread, on DataJoint's
  public API: ``jobs.reserve``, then ``table.populate(*restrictions, key)`` without
  ``reserve_jobs`` (which installs no signal handler and makes the key in a transaction),
  then ``jobs.complete`` or ``jobs.error`` (see ``docs/decisions.md``).

Restricting each call to the one key lets the loop of :func:`~._protocol.execute` announce
the key before it is made, and a key that another worker reserved meanwhile comes back as
False (``"skipped"``) without ending the table's loop while other keys are pending.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ._counts import jobs_table
from ._reconnect import is_connection_loss

__all__ = [
    "KeyOutcome",
    "KeyStep",
    "error_message",
    "populate_in_thread",
    "populate_reserved",
    "populate_result",
]

KeyOutcome = bool | tuple[dict, BaseException]
KeyStep = Callable[[Any, dict, Sequence[Any]], KeyOutcome]


def error_message(error: BaseException) -> str:
    """``"ExceptionType: message"``, as DataJoint writes it into the jobs table."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def populate_result(result: dict) -> tuple[int, list[tuple[dict, Any]]]:
    """``(keys made, [(key, error), ...])`` from what ``Table.populate`` returned: the keys
    this call made (``success_count``), not the rows the table gained meanwhile (other
    workers insert too)."""
    return int(result["success_count"]), list(result["error_list"])


def _outcome(result: dict) -> KeyOutcome:
    made, errors = populate_result(result)
    if errors:
        key, error = errors[0]
        return dict(key), error
    return made > 0


def populate_reserved(table: Any, key: dict, restrictions: Sequence[Any]) -> KeyOutcome:
    """Make ``key`` with DataJoint's distributed populate (main thread only).

    ``reserve_jobs=True`` reserves the key's job, makes it in a transaction and completes
    the job or records the error; ``refresh=False`` because :func:`~._protocol.execute`
    refreshed the jobs table when it listed the table's pending keys.
    """
    result = table.populate(
        *restrictions,
        key,
        reserve_jobs=True,
        suppress_errors=True,
        return_exception_objects=True,
        max_calls=1,
        refresh=False,
    )
    return _outcome(result)


def populate_in_thread(table: Any, key: dict, restrictions: Sequence[Any]) -> KeyOutcome:
    """Make ``key`` under a reservation in its jobs table, from any thread.

    The jobs-table steps of DataJoint's distributed populate around a plain
    ``populate()`` of the one key: ``jobs.reserve`` (False when another worker holds the
    key), the populate (DataJoint's transaction; nothing made when the key is done
    already), then ``jobs.complete`` -- or ``jobs.error`` with the message and stack
    DataJoint would have written. A lost database connection is not the key's error: it
    is raised, and the reservation left for the worker to release once it reconnects
    (:func:`~._reconnect.wait_for_server`, :func:`~._orphans.release_own_reservations`).
    """
    jobs = jobs_table(table)
    if not jobs.reserve(key):
        return False
    started = time.time()
    try:
        result = table.populate(
            *restrictions, key, suppress_errors=True, return_exception_objects=True, max_calls=1
        )
    except BaseException as error:  # not suppressed by populate (SystemExit, lost connection)
        if not is_connection_loss(error):
            jobs.error(key, error_message=error_message(error), error_stack=traceback.format_exc())
        raise
    outcome = _outcome(result)
    if isinstance(outcome, tuple):
        error = outcome[1]
        if is_connection_loss(error):  # not the key's fault: rolled back, made again later
            raise error
        stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        jobs.error(key, error_message=error_message(error), error_stack=stack)
    else:
        jobs.complete(key, duration=time.time() - started)
    return outcome
