"""A worker outlives a database restart: the lost connection is found again, not fatal.

DataJoint reconnects by itself when a query finds the connection gone outside a
transaction; inside one (a ``make``) it rolls back and raises ``LostConnectionError``,
and while the server is down ``connect()`` raises the driver's ``OperationalError``.
:func:`is_connection_loss` recognises all three; :func:`wait_for_server` reconnects with
back-off until the server answers (or a limit says stop) and refreshes the connection's
server-side id, which DataJoint records with every reservation (:mod:`._orphans` checks it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from datajoint.errors import LostConnectionError

__all__ = ["ServerUnreachable", "is_connection_loss", "wait_for_server"]

logger = logging.getLogger(__name__)


class ServerUnreachable(ConnectionError):
    """The database server did not come back within the reconnect timeout."""


def _driver_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    try:
        import psycopg2

        found += [psycopg2.OperationalError, psycopg2.InterfaceError]
    except ImportError:
        pass
    try:
        import pymysql

        found += [pymysql.err.OperationalError, pymysql.err.InterfaceError]
    except ImportError:
        pass
    return tuple(found)


def is_connection_loss(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) means the database server went away."""
    drivers = _driver_errors()
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, (LostConnectionError, *drivers)):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _server_connection_id(connection: Any) -> int:
    query = ("SELECT pg_backend_pid()" if connection.adapter.backend == "postgresql"
             else "SELECT connection_id()")
    return int(connection.query(query, reconnect=False).fetchone()[0])


def wait_for_server(connection: Any, stop: Callable[[], bool], timeout: float = 600.0,
                    sleep: Callable[[float], None] = time.sleep) -> bool:
    """Reconnect ``connection`` (a DataJoint connection) once its server answers again.

    Parameters
    ----------
    connection : datajoint.Connection
    stop : callable
        Checked between tries; True gives up quietly (returns False).
    timeout : float
        Seconds to keep trying.
    sleep : callable
        How to wait between tries (a worker passes one that a stop interrupts).

    Raises
    ------
    ServerUnreachable
        The server did not answer within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    delay = 0.25
    while True:
        try:
            connection.connect()
            if connection.in_transaction:  # the server rolled it back with the old session
                connection.cancel_transaction()
            connection.connection_id = _server_connection_id(connection)
            return True
        except Exception as err:
            if not is_connection_loss(err):
                raise
            last = err
        if stop():
            return False
        if time.monotonic() >= deadline:
            host = connection.conn_info.get("host")
            port = connection.conn_info.get("port")
            raise ServerUnreachable(
                f"the database server {host}:{port} did not answer for {timeout:.0f} s: "
                f"{type(last).__name__}: {last}"
            ) from last
        logger.warning("database server unreachable (%s); retrying in %.1f s",
                       type(last).__name__, delay)
        sleep(delay)
        delay = min(delay * 2, 5.0)
