"""Run a populate in a child process, relaying its events to the caller.

A populate in a thread of the napari process shares the interpreter lock with the user
interface: scipy.ndimage and scipy.sparse hold it for tens of milliseconds at a time, so
on a 2-core machine the viewer stutters while ROIs are detected. A child process has its
own interpreter; the parent only relays small events, and the user interface stays
responsive (see ``docs/widgets/populate.md``).

The protocol mirrors the in-thread runner of :mod:`._jobs`:

* the child is a fresh interpreter (``python -c``), connected to the parent by a socket
  pair it inherits; it does not re-import the parent's ``__main__`` (as
  ``multiprocessing``'s spawn would), so any script or notebook can use it, and it is never
  a fork of a process that runs Qt and threads;
* the first message gives it the parent's DataJoint settings, the connection's
  parameters, the schema name and the write options -- in memory, never on disk,
  passwords included;
* it sends each :class:`~._jobs.PopulateEvent` and waits for the parent to ask for the
  next one, so the work advances only while the parent iterates, exactly as with the
  in-thread runner;
* a cancel message from the parent is seen at the child's next chunk check; if the
  parent goes away, the child cancels, rolls the key back and exits;
* if the child dies without finishing (killed, out of memory), the parent gives the job
  it had reserved back to the queue and raises :class:`PopulateProcessError`.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = ["PopulateProcessError", "events_in_child_process"]

_POLL_SECONDS = 0.05
_NEXT, _CANCEL = "next", "cancel"
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
class _ChildSpec:
    """Everything the child needs, sent through the socket (never to disk)."""

    config: Any  # datajoint.settings.Config of the parent's connection
    conn_info: dict
    backend: str
    schema_name: str
    store: str | None
    plans: Sequence[Any]
    chunk_budget: int
    step: float


def _spec(pipeline: Any, plans: Sequence[Any]) -> _ChildSpec:
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
    return _ChildSpec(
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


# ------------------------------------------------------------------------------ child


def _quiet_declarations(record: logging.LogRecord) -> bool:
    """Drop DataJoint's table-declaration warnings, already shown by the parent."""
    message = record.getMessage()
    return not message.startswith(("Ignoring non-FK primary key", "Native type"))


def _connect_child(spec: _ChildSpec) -> Any:
    """In the child: adopt the parent's DataJoint settings and open the same connection."""
    import datajoint as dj
    import datajoint.instance

    config = datajoint.instance._global_config
    for name in type(spec.config).model_fields:
        setattr(config, name, getattr(spec.config, name))
    info = spec.conn_info
    return dj.Connection(
        info["host"],
        info["user"],
        info["passwd"],
        info["port"],
        info.get("ssl_input"),
        database_name=info.get("database_name"),
        backend=spec.backend,
        config_override=config,
    )


class _Parent:
    """The child's end of the socket: events out; next / cancel in (on a reader thread)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.stop = threading.Event()
        self.gone = threading.Event()
        self._next = threading.Semaphore(0)
        threading.Thread(target=self._listen, name="parent-listener", daemon=True).start()

    def _listen(self) -> None:
        try:
            while True:
                message = self.connection.recv()
                if message == _CANCEL:
                    self.stop.set()
                elif message == _NEXT:
                    self._next.release()
        except (EOFError, OSError):
            self.gone.set()
            self.stop.set()
            self._next.release()

    def emit(self, event: Any) -> None:
        if self.gone.is_set():
            return  # nobody listens: the run is cancelled and only rolls back now
        try:
            self.connection.send(("event", event))
        except OSError:
            return
        self._next.acquire()

    def send(self, kind: str, payload: Any) -> None:
        if not self.gone.is_set():
            try:
                self.connection.send((kind, payload))
            except OSError:
                pass


def serve(fd: int) -> None:
    """The child process's entry point: run the plans the parent sends on socket ``fd``."""
    connection = Connection(fd)
    spec: _ChildSpec = connection.recv()
    parent = _Parent(connection)
    logging.getLogger("datajoint").addFilter(_quiet_declarations)
    try:
        from ..storage._options import write_options
        from ._activate import activate
        from ._jobs import _execute

        pipeline = activate(spec.schema_name, connection=_connect_child(spec), store=spec.store)
        with write_options(chunk_budget=spec.chunk_budget, step=spec.step):
            _execute(pipeline, spec.plans, parent.emit, parent.stop.is_set)
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, raised there
        parent.send("error", _portable(exc))
    else:
        parent.send("done", None)
    finally:
        connection.close()


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a PopulateProcessError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any pickling failure: send the text instead
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return PopulateProcessError(f"The populate process failed: {text}")


# ------------------------------------------------------------------------------ parent


def _start_child(spec: _ChildSpec, niceness: int) -> tuple[subprocess.Popen, Connection]:
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


def _release_reservation(pipeline: Any, key_event: Any) -> None:
    """The child died while making a key: give its reserved job back to the queue."""
    from ._jobs import jobs_table

    table = pipeline.table(key_event.table)
    (jobs_table(table()) & dict(key_event.key) & "status='reserved'").delete_quick()


def events_in_child_process(
    pipeline: Any,
    plans: Sequence[Any],
    cancel: Callable[[], bool] | None,
    *,
    niceness: int = 0,
) -> Iterator[Any]:
    """Run ``_execute(plans)`` in a child process and yield its events.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables; the child opens the same schema on the same server.
    plans : sequence of _Plan
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


def _relay(pipeline: Any, spec: _ChildSpec, cancel: Callable[[], bool] | None, niceness: int
           ) -> Iterator[Any]:
    """Start the child on first iteration and yield its events (see the module doc)."""
    child, connection = _start_child(spec, niceness)
    cancelled = False
    in_progress: Any = None  # the last key-started event whose key has not finished

    def check_cancel() -> None:
        nonlocal cancelled
        if cancel is not None and not cancelled and cancel():
            cancelled = True
            connection.send(_CANCEL)

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
            connection.send(_NEXT)
    finally:
        if not finished and child.poll() is None:
            _drain(connection)
        connection.close()
        child.wait()


def _drain(connection: Connection) -> None:
    """The consumer went away mid-run (the child waits for the next request after the
    event it was given last): cancel, and let the child roll its key back."""
    try:
        connection.send(_CANCEL)
        connection.send(_NEXT)
        while True:
            kind, _ = connection.recv()
            if kind != "event":
                return
            connection.send(_NEXT)
    except (EOFError, OSError):
        return
