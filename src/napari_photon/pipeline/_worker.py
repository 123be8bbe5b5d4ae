"""A long-running worker: every auto-populated table, in dependency order, until told to stop.

What ``napari-photon worker`` runs (headless: no napari, no Qt). Each pass is one
:func:`~._protocol.execute` over the tables -- dead workers' reservations released
(:mod:`._orphans`), the jobs table refreshed, each pending key reserved in DataJoint's jobs
table and made in DataJoint's transaction -- and a pass that made nothing waits ``poll``
seconds for new work. Any number of workers, on any machines, share one database server
and one store this way; DataJoint's jobs table is the only coordination.

The key step is :func:`~._key_steps.populate_in_thread` (``jobs.reserve``, ``populate``
of the one key, ``jobs.complete`` / ``jobs.error``) rather than ``populate(reserve_jobs=True)``,
whose SIGTERM handler raises ``SystemExit`` wherever the interpreter happens to be. Here a
stop (``stop`` set: SIGTERM or Ctrl-C in the command, a time limit) is seen between keys
and, inside ``make``, at the next chunk of frames, where the key is rolled back (no row, no
zarr) and its job deleted, so that the key is pending again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ._counts import auto_tables
from ._key_steps import populate_in_thread
from ._orphans import release_own_reservations
from ._protocol import PopulateEvent, TablePlan, execute
from ._reconnect import is_connection_loss, wait_for_server

__all__ = ["KeyReport", "WorkerSummary", "run_worker"]

#: statuses that count against ``max_keys``: ``make`` ran to its end
COUNTED = ("done", "error")


@dataclass(frozen=True)
class KeyReport:
    """One key a worker took up.

    Attributes
    ----------
    table : str
        Class name of the table.
    key : dict
        The key.
    status : str
        ``"done"``, ``"error"``, ``"skipped"`` (another worker had it), ``"empty"`` or
        ``"cancelled"`` (the worker was stopped while making it: rolled back, pending).
    seconds : float
        From the key's start to its end in this worker.
    error : str or None
        The failure message of an ``"error"``.
    """

    table: str
    key: dict
    status: str
    seconds: float
    error: str | None = None


@dataclass
class WorkerSummary:
    """How a worker ended.

    Attributes
    ----------
    reason : str
        ``"stopped"`` (``stop`` was set), ``"time limit"`` or ``"max keys"``.
    made, errors : int
        Keys this worker made, and keys whose ``make`` failed.
    passes : int
        Passes over the tables.
    reconnects : int
        Times the database connection was lost and found again.
    keys : list of KeyReport
        Every key it took up, in order.
    """

    reason: str = ""
    made: int = 0
    errors: int = 0
    passes: int = 0
    reconnects: int = 0
    keys: list[KeyReport] = field(default_factory=list)


class _Limits:
    """Whether the worker should stop, and why."""

    def __init__(self, stop: threading.Event, time_limit: float | None, max_keys: int | None):
        self.stop_event = stop
        self.deadline = None if time_limit is None else time.monotonic() + time_limit
        self.max_keys = max_keys
        self.counted = 0

    def reason(self) -> str:
        if self.stop_event.is_set():
            return "stopped"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "time limit"
        if self.max_keys is not None and self.counted >= self.max_keys:
            return "max keys"
        return ""

    def __call__(self) -> bool:
        return bool(self.reason())

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` or until a limit is reached, whichever comes first."""
        end = time.monotonic() + seconds
        if self.deadline is not None:
            end = min(end, self.deadline)
        while not self() and time.monotonic() < end:
            self.stop_event.wait(min(0.2, max(end - time.monotonic(), 0.0)))


def run_worker(
    pipeline: Any,
    *restrictions: Any,
    tables: Iterable[Any] = (),
    time_limit: float | None = None,
    max_keys: int | None = None,
    poll: float = 10.0,
    stop: threading.Event | None = None,
    on_key: Callable[[KeyReport], None] | None = None,
    reconnect_timeout: float = 600.0,
    on_connection_lost: Callable[[BaseException], None] | None = None,
) -> WorkerSummary:
    """Make pending keys of ``tables`` in dependency order, polling, until a limit.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables (this is the method ``Pipeline.run_worker``).
    *restrictions
        DataJoint restrictions of each table's ``key_source``.
    tables : iterable of table classes or names, optional
        Default: every auto-populated table.
    time_limit : float, optional
        Seconds: no key is started after it, and the key being made is cancelled at its
        next chunk (rolled back, pending again).
    max_keys : int, optional
        Stop after this many keys were made or failed (keys other workers had do not count).
    poll : float
        Seconds to wait after a pass that made nothing, before looking for new work.
    stop : threading.Event, optional
        Set it (from a signal handler, another thread) to stop: the key being made is
        cancelled at its next chunk.
    on_key : callable, optional
        Called with a :class:`KeyReport` when each key ends.
    reconnect_timeout : float
        Seconds to wait for a database server that went away (a restart) before giving up
        with :class:`~._reconnect.ServerUnreachable`. The key being made then was rolled
        back by the server; once connected again the worker returns its own reservation to
        pending and goes on, so that no key is lost or made twice.
    on_connection_lost : callable, optional
        Called with the error when the connection is lost.

    Returns
    -------
    WorkerSummary
    """
    limits = _Limits(stop or threading.Event(), time_limit, max_keys)
    plans = [TablePlan(t.__name__, tuple(restrictions)) for t in auto_tables(pipeline, tables)]
    summary = WorkerSummary()
    started: dict[str, float] = {}

    def emit(event: PopulateEvent) -> None:
        if event.kind == "key-started":
            started["key"] = time.monotonic()
        elif event.kind == "key-finished":
            report = KeyReport(event.table, dict(event.key or {}), event.status,
                               time.monotonic() - started.get("key", time.monotonic()),
                               event.error)
            summary.keys.append(report)
            if event.status in COUNTED:
                limits.counted += 1
                summary.made += int(event.status == "done")
                summary.errors += int(event.status == "error")
            if on_key is not None:
                on_key(report)

    while not limits():
        before = limits.counted
        try:
            execute(pipeline, plans, emit, limits, populate_in_thread)
        except Exception as error:
            if not is_connection_loss(error):
                raise
            summary.reconnects += 1
            if on_connection_lost is not None:
                on_connection_lost(error)
            if not wait_for_server(pipeline.connection, limits, reconnect_timeout, limits.wait):
                break
            release_own_reservations(pipeline, tables)
            continue
        summary.passes += 1
        if limits.counted == before:  # nothing to do now: wait for new work
            limits.wait(poll)
    summary.reason = limits.reason()
    return summary
