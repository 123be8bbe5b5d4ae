"""Job bookkeeping and a cancellable, progress-reporting populate for user interfaces.

Pure Python (no Qt): the napari Populate dock, scripts and tests share it.

* :func:`table_counts` / :func:`job_counts` -- done / pending / error keys per
  auto-populated table, from its ``key_source`` and its DataJoint jobs table.
* :func:`failed_keys` -- keys whose ``make`` failed, with the error message.
* :func:`run_populate` -- populate one table or all of them in dependency order with
  ``reserve_jobs`` semantics (several people and headless workers share the work), as a
  generator of :class:`PopulateEvent`: per table, per key and per chunk of frames inside
  a key (from :func:`napari_photon.pipeline.reporting`). It stops between chunks when
  ``cancel()`` turns true; the key being made leaves no row and no zarr behind.
* :func:`retry_failed` -- clear the error jobs of some failed keys and populate them again.

Why not ``Table.populate(reserve_jobs=True)``: DataJoint 2.3's distributed populate
installs a SIGTERM handler, which Python allows only in the main thread, and a user
interface must populate in a worker thread. :func:`run_populate` therefore drives the
same jobs-table protocol itself -- ``jobs.refresh``, then for each pending key
``jobs.reserve`` / ``make`` in a transaction / ``jobs.complete`` or ``jobs.error``,
through DataJoint's own per-key routine -- so it interoperates with ``populate(
reserve_jobs=True)`` run by headless workers on the same jobs table.

Example
-------
>>> from napari_photon import pipeline
>>> lab = pipeline.activate("calcium_imaging")
>>> for event in lab.run_populate(tables=("Recording",)):
...     print(event.kind, event.table, f"{event.fraction:.0%}")
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from datajoint.condition import AndList

from ..storage import Cancelled
from ._child_process import events_in_child_process
from ._progress import reporting

__all__ = [
    "FailedKey",
    "PopulateEvent",
    "TableCounts",
    "auto_tables",
    "failed_keys",
    "job_counts",
    "retry_failed",
    "run_populate",
    "table_counts",
]

EventKind = Literal[
    "run-started",
    "table-started",
    "key-started",
    "stage",
    "key-finished",
    "table-finished",
    "run-finished",
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


@dataclass(frozen=True)
class PopulateEvent:
    """One step of :func:`run_populate`.

    Attributes
    ----------
    kind : str
        ``"run-started"``, ``"table-started"``, ``"key-started"``, ``"stage"`` (frames
        processed inside a key), ``"key-finished"``, ``"table-finished"``, ``"run-finished"``.
    fraction : float
        Progress of the whole run in [0, 1]; never decreases; 1.0 on ``"run-finished"``
        unless the run was cancelled. Each table of the run gets an equal share, each key
        an equal share of its table, and the stages inside a key split the key's share.
    table : str
        Table being populated ("" for run events).
    tables : tuple of str
        The run's tables in dependency order (on ``"run-started"``).
    table_index, n_tables : int
        Position (0-based) of ``table`` in the run, and the run's table count.
    key : dict or None
        The key being made (key events and stages).
    key_index, n_keys : int
        Position (0-based) of ``key`` among the table's keys reserved for this run, and
        their count (from ``"table-started"`` on).
    stage : str
        Name of the stage inside ``make`` (e.g. ``"motion correction"``).
    done, total : int
        Frames done / total of ``stage``.
    status : str
        On ``"key-finished"``: ``"done"``, ``"empty"`` (``make`` ran without error but
        inserted no row, so the key stays pending), ``"error"``, ``"skipped"`` (another
        worker had reserved it or made it) or ``"cancelled"``.
    error : str or None
        The failure message on a ``"key-finished"`` with status ``"error"``.
    counts : TableCounts or None
        The table's counts on ``"table-finished"``.
    n_done, n_errors : int
        Keys made / failed so far in the run.
    cancelled : bool
        True on the events after a cancel took effect (``"key-finished"``,
        ``"table-finished"``, ``"run-finished"``).
    """

    kind: EventKind
    fraction: float = 0.0
    table: str = ""
    tables: tuple[str, ...] = ()
    table_index: int = 0
    n_tables: int = 0
    key: dict | None = None
    key_index: int = 0
    n_keys: int = 0
    stage: str = ""
    done: int = 0
    total: int = 0
    status: str = ""
    error: str | None = None
    counts: TableCounts | None = None
    n_done: int = 0
    n_errors: int = 0
    cancelled: bool = False


# ------------------------------------------------------------------------------ counts


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
    import datajoint as dj

    return "Imported" if issubclass(table, dj.Imported) else "Computed"


def _todo(table: Any, restrictions: Sequence[Any]) -> Any:
    """``key_source`` restricted by ``restrictions``, as keys only."""
    source = table.key_source
    if restrictions:
        source = source & AndList(restrictions)
    return source.proj()


_DECLARE_LOCK = threading.Lock()


def jobs_table(table: Any) -> Any:
    """``table.jobs``, whose first access declares the ``~~table`` jobs table: serialized,
    because two threads doing it at once (the populate dock counting while a worker
    populates) both try to create it and one fails on the existing index."""
    with _DECLARE_LOCK:
        return table.jobs


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


def _clear_errors(instance: Any, restrictions: Sequence[Any]) -> int:
    """Delete the error jobs of not-done keys of ``key_source & restrictions``."""
    jobs = _open_jobs(instance, restrictions) & "status='error'"
    return int(jobs.delete_quick(get_count=True) or 0)


# ------------------------------------------------------------------------------ populate


class _Progress:
    """The run's overall fraction: tables, then keys, then stages inside a key.

    Stage ``k`` (1-based) of a key gets ``1/K`` of the key when the previous key of the
    same table had ``K >= k`` stages; otherwise (first key, or more stages than last time)
    it gets half of what is left of the key. The fraction never decreases.
    """

    def __init__(self, n_tables: int) -> None:
        self.n_tables = max(n_tables, 1)
        self.table_index = 0
        self.n_keys = 0
        self.key_index = 0
        self.expected_stages: int | None = None
        self.stages_seen = 0
        self.stage_name = ""
        self.stage_start = 0.0
        self.stage_span = 0.0
        self.key_fraction = 0.0
        self.value = 0.0

    def _update(self) -> float:
        table_share = 1.0 / self.n_tables
        within_table = 0.0
        if self.n_keys:
            within_table = (self.key_index + self.key_fraction) / self.n_keys
        self.value = max(self.value, min((self.table_index + within_table) * table_share, 1.0))
        return self.value

    def start_table(self, index: int, n_keys: int) -> float:
        self.table_index, self.n_keys, self.key_index = index, n_keys, 0
        self.expected_stages = None
        self.key_fraction = 0.0
        return self._update()

    def start_key(self, index: int) -> float:
        if index > 0 and self.stages_seen:
            self.expected_stages = self.stages_seen
        self.key_index = index
        self.stages_seen, self.stage_name, self.key_fraction = 0, "", 0.0
        return self._update()

    def stage(self, name: str, done: int, total: int) -> float:
        if name != self.stage_name or not self.stages_seen:
            self.stages_seen += 1
            self.stage_name = name
            k, expected = self.stages_seen, self.expected_stages
            if expected and k <= expected:
                self.stage_start, self.stage_span = (k - 1) / expected, 1.0 / expected
            else:
                self.stage_start = self.key_fraction
                self.stage_span = (1.0 - self.key_fraction) / 2.0
        part = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        self.key_fraction = max(self.key_fraction, self.stage_start + self.stage_span * part)
        return self._update()

    def finish_key(self) -> float:
        self.key_fraction = 0.0
        self.key_index += 1
        return self._update()

    def finish_table(self) -> float:
        self.table_index += 1
        self.n_keys = self.key_index = 0
        self.key_fraction = 0.0
        return self._update()


@dataclass
class _Plan:
    """One table of a run (by class name): its restrictions and whether to clear its
    errors first. Plain values only, so that a plan can be sent to a child process."""

    table: str
    restrictions: tuple = ()
    clear_errors: bool = False


_DONE = object()


def _message(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _execute(
    pipeline: Any,
    plans: Sequence[_Plan],
    emit: Callable[[PopulateEvent], None],
    stop: Callable[[], bool],
) -> None:
    """Populate ``plans`` of ``pipeline`` in order, reporting through ``emit``; runs in a
    helper thread or a child process."""
    names = tuple(p.table for p in plans)
    progress = _Progress(len(plans))
    stage_lock = threading.Lock()
    n_done = n_errors = 0
    cancelled = False
    emit(PopulateEvent("run-started", 0.0, tables=names, n_tables=len(plans)))
    for t_index, plan in enumerate(plans):
        name = plan.table
        instance = pipeline.table(name)()
        jobs = jobs_table(instance)
        base = {"table": name, "table_index": t_index, "n_tables": len(plans)}
        if cancelled or stop():
            cancelled = True
            break
        if plan.clear_errors:
            _clear_errors(instance, plan.restrictions)
        jobs.refresh(*plan.restrictions, delay=-1)
        pending = (jobs & "status='pending'" & "scheduled_time <= CURRENT_TIMESTAMP(3)").restrict(
            _todo(instance, plan.restrictions), semantic_check=False
        )
        keys = pending.keys(order_by="priority ASC, scheduled_time ASC")
        n_keys = len(keys)
        emit(
            PopulateEvent(
                "table-started", progress.start_table(t_index, n_keys), n_keys=n_keys, **base
            )
        )
        for k_index, key in enumerate(keys):
            if stop():
                cancelled = True
                break
            key = dict(key)
            where = dict(base, key=key, key_index=k_index, n_keys=n_keys)
            emit(PopulateEvent("key-started", progress.start_key(k_index), **where))

            def on_stage(stage: str, done: int, total: int, where: dict = where) -> None:
                # make may report from several threads: one event at a time, in order
                with stage_lock:
                    emit(
                        PopulateEvent(
                            "stage",
                            progress.stage(stage, done, total),
                            stage=stage,
                            done=done,
                            total=total,
                            **where,
                        )
                    )

            with reporting(progress=on_stage, cancel=stop):
                outcome = instance._populate1(
                    key, jobs=jobs, suppress_errors=True, return_exception_objects=True
                )
            error: str | None = None
            if outcome is True and not instance & key:
                status = "empty"  # make inserted nothing: the key stays to do
            elif outcome is True:
                status = "done"
                n_done += 1
            elif outcome is False:
                status = "skipped"
            else:
                _, exc = outcome
                if isinstance(exc, Cancelled):
                    # not a failure of the key: back to the queue, no error kept
                    (jobs & key).delete_quick()
                    cancelled = True
                    emit(
                        PopulateEvent(
                            "key-finished",
                            progress.value,
                            status="cancelled",
                            cancelled=True,
                            n_done=n_done,
                            n_errors=n_errors,
                            **where,
                        )
                    )
                    break
                status, error = "error", _message(exc)
                n_errors += 1
            emit(
                PopulateEvent(
                    "key-finished",
                    progress.finish_key(),
                    status=status,
                    error=error,
                    n_done=n_done,
                    n_errors=n_errors,
                    **where,
                )
            )
        counts = table_counts(instance, *plan.restrictions)
        fraction = progress.value if cancelled else progress.finish_table()
        emit(
            PopulateEvent(
                "table-finished",
                fraction,
                counts=counts,
                n_keys=n_keys,
                n_done=n_done,
                n_errors=n_errors,
                cancelled=cancelled,
                **base,
            )
        )
        if cancelled:
            break
    emit(
        PopulateEvent(
            "run-finished",
            progress.value if cancelled else 1.0,
            tables=names,
            n_tables=len(plans),
            n_done=n_done,
            n_errors=n_errors,
            cancelled=cancelled,
        )
    )


def _events(
    pipeline: Any, plans: Sequence[_Plan], cancel: Callable[[], bool] | None
) -> Iterator[PopulateEvent]:
    """Run ``_execute`` in a helper thread and yield its events, generator-style.

    ``make`` reports frames through a callback; the helper thread turns each callback into
    an event and waits until the consumer asks for the next one, so the work advances only
    while the generator is being iterated (as with a plain generator) and a ``cancel``
    flag set while handling an event is seen at the very next check. The database work
    stays in the helper thread, so the consumer may live in any thread (a napari generator
    worker). Closing the generator early cancels the run and waits until the key being
    made has rolled back.
    """
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    resume = threading.Semaphore(0)
    abandoned = threading.Event()

    def stop() -> bool:
        return abandoned.is_set() or bool(cancel is not None and cancel())

    def emit(event: PopulateEvent) -> None:
        if abandoned.is_set():
            return
        inbox.put(event)
        resume.acquire()  # until the consumer asks for the next event (or goes away)

    def work() -> None:
        try:
            _execute(pipeline, plans, emit, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            inbox.put(exc)
        finally:
            inbox.put(_DONE)

    helper = threading.Thread(target=work, name="napari-photon-populate", daemon=True)
    helper.start()
    try:
        while True:
            item = inbox.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
            resume.release()
    finally:
        abandoned.set()
        resume.release()  # wake the helper if it waits in emit
        helper.join()


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
    (see :func:`failed_keys`) and the run goes on; keys already in error are not retried
    (see :func:`retry_failed`).

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
        :func:`~napari_photon.pipeline._child_process.events_in_child_process`.
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
    plans = [_Plan(t.__name__, tuple(restrictions)) for t in auto_tables(pipeline, tables)]
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
        Keys to retry (from :func:`failed_keys`). Default: every failed key of ``tables``.
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
        plans = [_Plan(t.__name__, (), clear_errors=True) for t in auto_tables(pipeline, tables)]
    else:
        failures = list(failures)
        names = {f.table for f in failures}
        plans = []
        for table in auto_tables(pipeline, names) if names else ():
            keys = [dict(f.key) for f in failures if f.table == table.__name__]
            plans.append(_Plan(table.__name__, (keys,), clear_errors=True))
    return _runner(separate_process, niceness)(pipeline, plans, cancel)


def _runner(separate_process: bool, niceness: int) -> Callable[..., Iterator[PopulateEvent]]:
    if not separate_process:
        return _events
    return functools.partial(events_in_child_process, niceness=niceness)
