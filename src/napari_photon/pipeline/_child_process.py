"""What runs in the child process of a populate (the child's side).

:mod:`._child_runner` starts ``python -c "... serve(fd)"`` with one end of a socket pair;
:func:`serve` reads the :class:`~._child_runner.ChildSpec`, opens the same schema on the
same server, and runs :func:`~._protocol.execute` on its main thread, sending each event
and waiting for the parent to ask for the next one.
"""

from __future__ import annotations

import logging
import pickle
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

from ._child_runner import CANCEL, NEXT, ChildSpec, PopulateProcessError

__all__ = ["serve"]


def _quiet_declarations(record: logging.LogRecord) -> bool:
    """Drop DataJoint's table-declaration warnings, already shown by the parent."""
    message = record.getMessage()
    return not message.startswith(("Ignoring non-FK primary key", "Native type"))


def _connect_child(spec: ChildSpec) -> Any:
    """In the child: adopt the parent's DataJoint settings (``dj.config`` sets them on the
    global configuration, which a connection without ``config_override`` uses) and open
    the same connection."""
    import datajoint as dj

    for name in type(spec.config).model_fields:
        setattr(dj.config, name, getattr(spec.config, name))
    info = spec.conn_info
    return dj.Connection(
        info["host"],
        info["user"],
        info["passwd"],
        info["port"],
        info.get("ssl_input"),
        database_name=info.get("database_name"),
        backend=spec.backend,
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
                if message == CANCEL:
                    self.stop.set()
                elif message == NEXT:
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
    spec: ChildSpec = connection.recv()
    parent = _Parent(connection)
    logging.getLogger("datajoint").addFilter(_quiet_declarations)
    try:
        from ..storage._options import write_options
        from ._activate import activate
        from ._key_steps import populate_reserved
        from ._protocol import execute

        pipeline = activate(spec.schema_name, connection=_connect_child(spec), store=spec.store)
        with write_options(chunk_budget=spec.chunk_budget, step=spec.step):
            execute(pipeline, spec.plans, parent.emit, parent.stop.is_set, populate_reserved)
    except SystemExit as exc:  # SIGTERM, through DataJoint's populate: not the parent's exit
        stopped = (
            f"The populate process was stopped ({exc}); a key it was making was rolled back "
            "and is back in the queue."
        )
        parent.send("error", PopulateProcessError(stopped))
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


