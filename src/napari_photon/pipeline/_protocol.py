"""The populate protocol: its events, the run plan, the progress model and the table loop.

Every way of populating with progress goes through :func:`execute`: the in-thread runner
(:mod:`._thread_runner`), the child process (:mod:`._child_process`) and any other caller
on a process's main thread. Per table of the run it

1. clears the error jobs first when the plan says so (a retry),
2. returns the keys reserved by dead workers to pending (:func:`~._orphans.release_orphans`),
   refreshes the table's DataJoint jobs table and lists its pending keys,
3. per key: ``key-started``; one *key step* reserves the key, calls ``make`` in a
   transaction and marks the job complete or failed (``stage`` events come from ``make``
   through :func:`~._progress.reporting`); ``key-finished``,
4. ``table-finished`` with the table's counts.

The key step is DataJoint's own (see :mod:`._key_steps`): ``populate(reserve_jobs=True)``
on a main thread, the public jobs API around ``populate()`` in a helper thread.
``cancel`` is polled between keys and, inside ``make``, between chunks of frames, where
it raises :class:`~napari_photon.storage.Cancelled`: DataJoint rolls the key back and
records an error job, which the loop deletes -- a cancel is no failure of the key, which
goes back to the queue -- and the run ends with ``cancelled`` events. A ``SystemExit``
(SIGTERM in DataJoint's populate) gives the key back the same way and ends the run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..storage import Cancelled
from ._counts import TableCounts, clear_errors, jobs_table, refresh_pending, table_counts
from ._key_steps import KeyStep, error_message
from ._orphans import release_orphans
from ._progress import reporting

__all__ = ["EventKind", "PopulateEvent", "RunFraction", "TablePlan", "execute"]

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
class PopulateEvent:
    """One step of a populate run (:func:`~._jobs.run_populate`).

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


@dataclass
class TablePlan:
    """One table of a run (by class name): its restrictions and whether to clear its
    errors first. Plain values only, so that a plan can be sent to a child process."""

    table: str
    restrictions: tuple = ()
    clear_errors: bool = False


class RunFraction:
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


Emit = Callable[[PopulateEvent], None]


class _Run:
    """What :func:`execute` keeps across tables: the fraction, the tallies, the callbacks."""

    def __init__(self, n_tables: int, emit: Emit, stop: Callable[[], bool], step: KeyStep):
        self.fraction = RunFraction(n_tables)
        self.emit, self.stop, self.step = emit, stop, step
        self.n_done = self.n_errors = 0
        self.cancelled = False
        self.stage_lock = threading.Lock()

    def make(
        self, instance: Any, key: dict, plan: TablePlan, where: dict
    ) -> tuple[str, str | None]:
        """Make one key with the key step, relaying its stages; (status, error message)."""

        def on_stage(stage: str, done: int, total: int) -> None:
            # make may report from several threads: one event at a time, in order
            with self.stage_lock:
                fraction = self.fraction.stage(stage, done, total)
                self.emit(
                    PopulateEvent("stage", fraction, stage=stage, done=done, total=total, **where)
                )

        try:
            with reporting(progress=on_stage, cancel=self.stop):
                outcome = self.step(instance, key, plan.restrictions)
        except SystemExit:
            # the worker is told to stop (DataJoint's populate turns SIGTERM into
            # SystemExit, records an error job and re-raises): no failure of the key either
            (jobs_table(instance) & key).delete_quick()
            raise
        if outcome is True:
            if not instance & key:
                return "empty", None  # make inserted nothing: the key stays to do
            self.n_done += 1
            return "done", None
        if outcome is False:
            return "skipped", None
        _, error = outcome
        if isinstance(error, Cancelled):
            # not a failure of the key: its error job goes, the key is pending again
            (jobs_table(instance) & key).delete_quick()
            self.cancelled = True
            return "cancelled", None
        self.n_errors += 1
        return "error", error_message(error)

    def table(self, pipeline: Any, index: int, n_tables: int, plan: TablePlan) -> None:
        """Populate one table of the run: its table-, key- and stage events."""
        instance = pipeline.table(plan.table)()
        base = {"table": plan.table, "table_index": index, "n_tables": n_tables}
        if plan.clear_errors:
            clear_errors(instance, plan.restrictions)
        release_orphans(instance)
        keys = refresh_pending(instance, plan.restrictions)
        n_keys = len(keys)
        fraction = self.fraction.start_table(index, n_keys)
        self.emit(PopulateEvent("table-started", fraction, n_keys=n_keys, **base))
        for k_index, key in enumerate(keys):
            if self.stop():
                self.cancelled = True
                break
            where = dict(base, key=key, key_index=k_index, n_keys=n_keys)
            self.emit(PopulateEvent("key-started", self.fraction.start_key(k_index), **where))
            status, error = self.make(instance, key, plan, where)
            tally = {"n_done": self.n_done, "n_errors": self.n_errors}
            if status == "cancelled":
                fraction = self.fraction.value
                self.emit(PopulateEvent("key-finished", fraction, status=status, cancelled=True,
                                        **tally, **where))
                break
            fraction = self.fraction.finish_key()
            self.emit(PopulateEvent("key-finished", fraction, status=status, error=error,
                                    **tally, **where))
        counts = table_counts(instance, *plan.restrictions)
        fraction = self.fraction.value if self.cancelled else self.fraction.finish_table()
        self.emit(
            PopulateEvent(
                "table-finished", fraction, counts=counts, n_keys=n_keys, n_done=self.n_done,
                n_errors=self.n_errors, cancelled=self.cancelled, **base,
            )
        )


def execute(
    pipeline: Any,
    plans: Sequence[TablePlan],
    emit: Emit,
    stop: Callable[[], bool],
    step: KeyStep,
) -> None:
    """Populate ``plans`` of ``pipeline`` in order, reporting each step through ``emit``.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables.
    plans : sequence of TablePlan
        The run's tables in dependency order, with their restrictions.
    emit : callable
        Called with each :class:`PopulateEvent`, in order (from ``make``'s thread for
        ``stage`` events).
    stop : callable
        Polled between tables, between keys and between chunks inside ``make``.
    step : KeyStep
        How one key is reserved, made and recorded: :func:`~._key_steps.populate_reserved`
        on a process's main thread, :func:`~._key_steps.populate_in_thread` elsewhere.
    """
    names = tuple(p.table for p in plans)
    run = _Run(len(plans), emit, stop, step)
    emit(PopulateEvent("run-started", 0.0, tables=names, n_tables=len(plans)))
    for index, plan in enumerate(plans):
        if run.cancelled or stop():
            run.cancelled = True
            break
        run.table(pipeline, index, len(plans), plan)
        if run.cancelled:
            break
    emit(
        PopulateEvent(
            "run-finished",
            run.fraction.value if run.cancelled else 1.0,
            tables=names,
            n_tables=len(plans),
            n_done=run.n_done,
            n_errors=run.n_errors,
            cancelled=run.cancelled,
        )
    )
