"""A cancellable, progress-reporting populate for user interfaces, and retrying failures.

Pure Python (no Qt): the napari Populate dock, scripts and tests share it.

* :func:`run_populate` -- populate one table or all of them in dependency order with
  ``reserve_jobs`` semantics (several people and headless workers share the work), as a
  generator of :class:`~._protocol.PopulateEvent`: per table, per key and per chunk of
  frames inside a key (from :func:`napari_photon.pipeline.reporting`). It stops between
  chunks when ``cancel()`` turns true; the key being made leaves no row and no zarr behind.
* :func:`retry_failed` -- clear the error jobs of some failed keys and populate them again.

The counts and failed keys the dock shows are :mod:`._counts`'s; the run itself is
:func:`~._protocol.execute`, in a child process (:mod:`._child_runner`) or a helper thread
(:mod:`._thread_runner`).

Example
-------
>>> from napari_photon import pipeline
>>> lab = pipeline.activate("calcium_imaging")
>>> for event in lab.run_populate(tables=("Recording",)):
...     print(event.kind, event.table, f"{event.fraction:.0%}")
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._child_runner import events_in_child_process
from ._counts import FailedKey, auto_tables
from ._protocol import PopulateEvent, TablePlan
from ._thread_runner import events_in_thread

__all__ = ["retry_failed", "run_populate"]


def run_populate(
    pipeline: Any,
    *restrictions: Any,
    tables: Iterable[Any] = (),
    cancel: Callable[[], bool] | None = None,
    separate_process: bool = False,
    niceness: int = 0,
) -> Iterator[PopulateEvent]:
    """Populate tables in dependency order, yielding progress; stop when ``cancel()``.

    Uses the tables' jobs tables like ``populate(reserve_jobs=True, suppress_errors=True)``:
    keys reserved by other workers are left to them, failing keys are recorded as errors
    (see :func:`~._counts.failed_keys`) and the run goes on; keys already in error are not
    retried (see :func:`retry_failed`).

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables (this is the method ``Pipeline.run_populate``).
    *restrictions
        DataJoint restrictions of each table's ``key_source`` (e.g. a session key).
    tables : iterable of table classes or names, optional
        Default: every auto-populated table.
    cancel : callable, optional
        Polled between keys and between chunks of frames inside a key; when it returns
        True the key being made is rolled back (no row, no zarr), its job goes back to
        the queue, and the run ends with ``cancelled=True`` events.
    separate_process : bool
        Make the keys in a child process (a fresh interpreter on the same server, schema,
        stores and write options) instead of a helper thread, so the ``make``
        computations never hold this process's interpreter lock: what a user interface
        wants. Restrictions must then be plain values (dicts, lists of dicts, strings; a
        query expression is sent as its primary keys). See
        :func:`~napari_photon.pipeline._child_runner.events_in_child_process`.
    niceness : int
        With ``separate_process``: added to the child's nice value (POSIX), so that the
        populate yields the processors to a user interface; a child alone on the machine
        runs at full speed all the same.

    Yields
    ------
    PopulateEvent
        ``run-started``, then per table ``table-started``, per key ``key-started``,
        ``stage`` events, ``key-finished``, then ``table-finished``; ``run-finished`` last.
        The database work happens in a helper thread or the child process; this generator
        may be consumed in any thread.
    """
    plans = [TablePlan(t.__name__, tuple(restrictions)) for t in auto_tables(pipeline, tables)]
    return _runner(separate_process, niceness)(pipeline, plans, cancel)


def retry_failed(
    pipeline: Any,
    failures: Iterable[FailedKey] | None = None,
    *,
    tables: Iterable[Any] = (),
    cancel: Callable[[], bool] | None = None,
    separate_process: bool = False,
    niceness: int = 0,
) -> Iterator[PopulateEvent]:
    """Clear the error jobs of failed keys and populate those keys again.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables (this is the method ``Pipeline.retry_failed``).
    failures : iterable of FailedKey, optional
        Keys to retry (from :func:`~._counts.failed_keys`). Default: every failed key of
        ``tables``.
    tables : iterable of table classes or names, optional
        With ``failures=None``: whose failed keys to retry (default all tables).
    cancel : callable, optional
        As in :func:`run_populate`.
    separate_process, niceness
        As in :func:`run_populate`.

    Yields
    ------
    PopulateEvent
        As :func:`run_populate`, for the tables that had failures, in dependency order.
    """
    if failures is None:
        chosen = auto_tables(pipeline, tables)
        plans = [TablePlan(t.__name__, (), clear_errors=True) for t in chosen]
    else:
        failures = list(failures)
        names = {f.table for f in failures}
        plans = []
        for table in auto_tables(pipeline, names) if names else ():
            keys = [dict(f.key) for f in failures if f.table == table.__name__]
            plans.append(TablePlan(table.__name__, (keys,), clear_errors=True))
    return _runner(separate_process, niceness)(pipeline, plans, cancel)


def _runner(separate_process: bool, niceness: int) -> Callable[..., Iterator[PopulateEvent]]:
    if not separate_process:
        return events_in_thread
    return functools.partial(events_in_child_process, niceness=niceness)
