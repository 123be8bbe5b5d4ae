"""Where the keys of the auto-populated tables stand: done, pending, reserved, failed.

Pure Python (no Qt): the napari Populate dock, the runners and scripts share it.

* :func:`table_counts` / :func:`job_counts` -- done / pending / error keys per
  auto-populated table, from its ``key_source`` and its DataJoint jobs table.
* :func:`failed_keys` -- keys whose ``make`` failed, with the error message.
* :func:`refresh_pending` -- the pending keys of a table, in the order populate takes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import datajoint as dj

from ._log_filters import design_document_types_quiet

__all__ = [
    "FailedKey",
    "TableCounts",
    "auto_tables",
    "clear_errors",
    "failed_keys",
    "job_counts",
    "jobs_table",
    "refresh_pending",
    "table_counts",
]


@dataclass(frozen=True)
class TableCounts:
    """Where the keys of one auto-populated table stand.

    Attributes
    ----------
    table : str
        Class name of the table (e.g. ``"MotionCorrected"``).
    tier : str
        ``"Imported"`` or ``"Computed"``.
    total : int
        Keys in ``key_source`` (restricted like the query that asked).
    done : int
        Keys with at least one row in the table.
    pending : int
        Keys still to do: not done, not failed, not being made, not ignored.
    reserved : int
        Keys being made right now (by this process or another worker).
    error : int
        Keys whose last ``make`` failed (listed by :func:`failed_keys`).
    ignored : int
        Keys marked ``ignore`` in the jobs table.
    """

    table: str
    tier: str
    total: int
    done: int
    pending: int
    reserved: int = 0
    error: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class FailedKey:
    """A key whose ``make`` failed, as recorded in the table's jobs table.

    Attributes
    ----------
    table : str
        Class name of the table.
    key : dict
        The job's key (the ``key_source`` primary key).
    message : str
        ``"ExceptionType: message"`` as DataJoint stored it (at most 2047 characters).
    when : datetime or None
        When the job failed (database server time).
    """

    table: str
    key: dict
    message: str
    when: datetime | None = None


def auto_tables(pipeline: Any, tables: Iterable[Any] = ()) -> tuple[type, ...]:
    """The auto-populated (Imported, Computed) tables in dependency order.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables (this is the method ``Pipeline.auto_tables``).
    tables : iterable of table classes or class names, optional
        A subset (any order); default all of ``pipeline.computed``.

    Raises
    ------
    ValueError
        For a name or class that is not an auto-populated pipeline table.
    """
    wanted = list(tables)
    if not wanted:
        return pipeline.computed
    by_name = {t.__name__: t for t in pipeline.computed}
    chosen = set()
    for item in wanted:
        name = item if isinstance(item, str) else getattr(item, "__name__", repr(item))
        if name not in by_name:
            raise ValueError(
                f"{name!r} is not an auto-populated pipeline table; choose from {sorted(by_name)}"
            )
        chosen.add(name)
    return tuple(t for t in pipeline.computed if t.__name__ in chosen)


def _tier(table: type) -> str:
    return "Imported" if issubclass(table, dj.Imported) else "Computed"


def _todo(table: Any, restrictions: Sequence[Any]) -> Any:
    """``key_source`` restricted by ``restrictions``, as keys only."""
    source = table.key_source
    if restrictions:
        source = source & dj.AndList(restrictions)
    return source.proj()


_DECLARE_LOCK = threading.Lock()


def jobs_table(table: Any, timeout: float = 30.0) -> Any:
    """``table.jobs``, whose first access declares the ``~~table`` jobs table: serialized,
    because two threads doing it at once (the populate dock counting while a worker
    populates) both try to create it and one fails on the existing index. Two processes
    can still race (two workers started together): the one that fails waits, up to
    ``timeout`` seconds, for the other's table."""
    with _DECLARE_LOCK:
        try:
            return _declared(table)
        except Exception:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    jobs = _declared(table)
                    if jobs.is_declared:
                        return jobs
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def _declared(table: Any) -> Any:
    """``table.jobs``, declared on the server: DataJoint declares it at first access and
    warns about the key's types as the server spells them (PostgreSQL's ``integer``)."""
    with design_document_types_quiet():
        jobs = table.jobs
        if not jobs.is_declared:
            jobs.declare()
    return jobs


def _open_jobs(table: Any, restrictions: Sequence[Any]) -> Any:
    """The table's jobs for keys of ``key_source & restrictions`` that are not done."""
    todo = _todo(table, restrictions) - table.proj()
    return jobs_table(table).restrict(todo, semantic_check=False)


def table_counts(table: Any, *restrictions: Any) -> TableCounts:
    """Done / pending / reserved / error / ignored keys of one auto-populated table.

    Parameters
    ----------
    table : table class or instance
        An Imported or Computed table of the pipeline.
    *restrictions
        DataJoint restrictions of its ``key_source`` (e.g. a session key).

    Returns
    -------
    TableCounts
        ``done`` keys have a row (tables whose ``make`` adds key fields, like Recording
        or Trace, count a key once however many rows it made); ``error`` / ``reserved`` /
        ``ignored`` come from the jobs table; ``pending`` is the rest.
    """
    instance = table() if isinstance(table, type) else table
    remaining, total = instance.progress(*restrictions)
    by_status = {"error": 0, "reserved": 0, "ignore": 0}
    jobs = _open_jobs(instance, restrictions)
    for status in by_status:
        by_status[status] = len(jobs & {"status": status})
    open_jobs = sum(by_status.values())
    return TableCounts(
        table=type(instance).__name__,
        tier=_tier(type(instance)),
        total=int(total),
        done=int(total - remaining),
        pending=int(max(remaining - open_jobs, 0)),
        reserved=by_status["reserved"],
        error=by_status["error"],
        ignored=by_status["ignore"],
    )


def job_counts(pipeline: Any, *restrictions: Any, tables: Iterable[Any] = ()) -> list[TableCounts]:
    """:func:`table_counts` of each auto-populated table of ``pipeline``, in dependency order."""
    return [table_counts(t, *restrictions) for t in auto_tables(pipeline, tables)]


def failed_keys(pipeline: Any, *restrictions: Any, tables: Iterable[Any] = ()) -> list[FailedKey]:
    """Keys whose last ``make`` failed, in dependency order of their tables.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables (this is the method ``Pipeline.failed_keys``).
    *restrictions
        DataJoint restrictions of the tables' ``key_source``.
    tables : iterable of table classes or names, optional
        Default: every auto-populated table.
    """
    found: list[FailedKey] = []
    for table in auto_tables(pipeline, tables):
        instance = table()
        jobs = _open_jobs(instance, restrictions) & "status='error'"
        key_names = jobs.primary_key
        rows = jobs.proj("error_message", "completed_time").to_dicts(order_by=list(key_names))
        for row in rows:
            found.append(
                FailedKey(
                    table=table.__name__,
                    key={k: row[k] for k in key_names},
                    message=str(row.get("error_message") or ""),
                    when=row.get("completed_time"),
                )
            )
    return found


def clear_errors(table: Any, restrictions: Sequence[Any]) -> int:
    """Delete the error jobs of not-done keys of ``key_source & restrictions``."""
    jobs = _open_jobs(table, restrictions) & "status='error'"
    return int(jobs.delete_quick(get_count=True) or 0)


def refresh_pending(table: Any, restrictions: Sequence[Any]) -> list[dict]:
    """Add the new keys of ``key_source & restrictions`` to the jobs table (``jobs.refresh``)
    and list its pending keys in the order ``populate(reserve_jobs=True)`` takes them."""
    jobs = jobs_table(table)
    jobs.refresh(*restrictions, delay=-1)  # -1: schedulable at once, as populate refreshes
    pending = (jobs.pending & "scheduled_time <= CURRENT_TIMESTAMP(3)").restrict(
        _todo(table, restrictions), semantic_check=False
    )
    return [dict(key) for key in pending.keys(order_by="priority ASC, scheduled_time ASC")]
