"""Run a populate in a child process, relaying its events to the caller (the parent side).

A populate in a thread of the napari process shares the interpreter lock with the user
interface: scipy.ndimage and scipy.sparse hold it for tens of milliseconds at a time, so
on a 2-core machine the viewer stutters while ROIs are detected. A child process has its
own interpreter; the parent only relays small events, and the user interface stays
responsive (see ``docs/widgets/populate.md``). The child's side is :mod:`._child_process`.

The protocol mirrors the in-thread runner of :mod:`._thread_runner`:

* the child is a fresh interpreter (``python -c``), connected to the parent by a socket
  pair it inherits; it does not re-import the parent's ``__main__`` (as
  ``multiprocessing``'s spawn would), so any script or notebook can use it, and it is never
  a fork of a process that runs Qt and threads;
* the first message gives it the parent's DataJoint settings, the connection's
  parameters, the schema name and the write options -- in memory, never on disk,
  passwords included;
* it sends each :class:`~._protocol.PopulateEvent` and waits for the parent to ask for the
  next one, so the work advances only while the parent iterates, exactly as with the
  in-thread runner;
* a cancel message from the parent is seen at the child's next chunk check; if the
  parent goes away, the child cancels, rolls the key back and exits;
* if the child dies without finishing (killed, out of memory), the parent gives the job
  it had reserved back to the queue and raises :class:`PopulateProcessError`.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ._counts import jobs_table
from ._protocol import PopulateEvent, TablePlan

__all__ = ["PopulateProcessError", "events_in_child_process"]

_POLL_SECONDS = 0.05
NEXT, CANCEL = "next", "cancel"
# the niceness comes first: on Linux it is per thread, and imports (numpy's BLAS) start
# threads that keep the value they were started with
_BOOT = (
    "import os, sys, warnings; os.nice(int(sys.argv[2])); "
    "warnings.filterwarnings('ignore', message='No datajoint.json found'); "
    "from napari_photon.pipeline._child_process import serve; serve(int(sys.argv[1]))"
)


class PopulateProcessError(Exception):
    """The populate's child process failed to start, or ended without finishing the run."""


@dataclass(frozen=True)
class ChildSpec:
    """Everything the child needs, sent through the socket (never to disk)."""

    config: Any  # datajoint.settings.Config of the parent's connection
    conn_info: dict
    backend: str
    schema_name: str
    store: str | None
    plans: Sequence[TablePlan]
    chunk_budget: int
    step: float


def _spec(pipeline: Any, plans: Sequence[TablePlan]) -> ChildSpec:
    from ..storage._options import current_write_options

    connection = pipeline.connection
    options = current_write_options()
    plans = [replace(p, restrictions=tuple(map(_as_values, p.restrictions))) for p in plans]
    try:
        pickle.dumps(tuple(plans))
    except Exception as err:
        raise TypeError(
            "To populate in a separate process, restrictions must be plain values "
            "(dicts of key values, lists of them, or SQL condition strings); "
            f"got one that cannot be sent to another process: {err}"
        ) from err
    return ChildSpec(
        config=connection._config,
        conn_info=dict(connection.conn_info),
        backend=connection.adapter.backend,
        schema_name=pipeline.database,
        store=pipeline.store,
        plans=tuple(plans),
        chunk_budget=options.chunk_budget,
        step=options.step,
    )


def _as_values(restriction: Any) -> Any:
    """A query expression as the list of its primary keys (which restrict the same keys)."""
    from datajoint.expression import QueryExpression

    if isinstance(restriction, QueryExpression):
        return restriction.proj().to_dicts()
    return restriction


def _start_child(spec: ChildSpec, niceness: int) -> tuple[subprocess.Popen, Connection]:
    ours, theirs = socket.socketpair()
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # napari_photon's parent folder
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, env.get("PYTHONPATH", "")) if p
    )
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(theirs.fileno()), str(niceness)],
            pass_fds=(theirs.fileno(),),
            env=env,
            stdin=subprocess.DEVNULL,
        )
    finally:
        theirs.close()
    connection = Connection(ours.detach())
    connection.send(spec)
    return child, connection


def _release_reservation(pipeline: Any, key_event: PopulateEvent) -> None:
    """The child died while making a key: give its reserved job back to the queue."""
    table = pipeline.table(key_event.table)
    (jobs_table(table()) & dict(key_event.key) & "status='reserved'").delete_quick()


def events_in_child_process(
    pipeline: Any,
    plans: Sequence[TablePlan],
    cancel: Callable[[], bool] | None,
    *,
    niceness: int = 0,
) -> Iterator[PopulateEvent]:
    """Run :func:`~._protocol.execute` on ``plans`` in a child process and yield its events.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables; the child opens the same schema on the same server.
    plans : sequence of TablePlan
        What to populate (tables, picklable restrictions, whether to clear errors first).
    cancel : callable, optional
        Polled while waiting for the child and before asking for each next event; when it
        returns True the child stops at its next chunk and rolls the key back.
    niceness : int
        Added to the child's nice value, so a populate can yield the processors to the
        user interface it was started from.

    Raises
    ------
    TypeError
        When a restriction cannot be sent to another process (raised here, before
        anything starts).
    PopulateProcessError
        When the child cannot start or dies before the run ends (raised while iterating).
    """
    if os.name != "posix":
        raise PopulateProcessError(
            "Populating in a separate process needs a POSIX system (Linux, macOS); "
            "use separate_process=False here."
        )
    return _relay(pipeline, _spec(pipeline, plans), cancel, niceness)


def _relay(
    pipeline: Any, spec: ChildSpec, cancel: Callable[[], bool] | None, niceness: int
) -> Iterator[PopulateEvent]:
    """Start the child on first iteration and yield its events (see the module doc)."""
    child, connection = _start_child(spec, niceness)
    cancelled = False
    in_progress: PopulateEvent | None = None  # the last key-started, its key not finished

    def check_cancel() -> None:
        nonlocal cancelled
        if cancel is not None and not cancelled and cancel():
            cancelled = True
            connection.send(CANCEL)

    def receive() -> tuple[str, Any]:
        while not connection.poll(_POLL_SECONDS):
            check_cancel()
            if child.poll() is not None and not connection.poll():
                raise EOFError
        return connection.recv()

    finished = False
    try:
        while True:
            try:
                kind, payload = receive()
            except (EOFError, OSError):
                code = child.wait()
                if in_progress is not None:
                    _release_reservation(pipeline, in_progress)
                where = (
                    f" while making {in_progress.table} {in_progress.key}; its job is back "
                    "in the queue"
                    if in_progress is not None
                    else ""
                )
                raise PopulateProcessError(
                    f"The populate process ended unexpectedly (exit code {code}){where}."
                ) from None
            if kind in ("error", "done"):
                finished = True
                if kind == "error":
                    raise payload
                return
            if payload.kind == "key-started":
                in_progress = payload
            elif payload.kind == "key-finished":
                in_progress = None
            yield payload
            check_cancel()
            connection.send(NEXT)
    finally:
        if not finished and child.poll() is None:
            _drain(connection)
        connection.close()
        child.wait()


def _drain(connection: Connection) -> None:
    """The consumer went away mid-run (the child waits for the next request after the
    event it was given last): cancel, and let the child roll its key back."""
    try:
        connection.send(CANCEL)
        connection.send(NEXT)
        while True:
            kind, _ = connection.recv()
            if kind != "event":
                return
            connection.send(NEXT)
    except (EOFError, OSError):
        return
