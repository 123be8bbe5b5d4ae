"""Reservations of dead workers go back to pending: no timeout, the process is checked.

DataJoint's ``jobs.reserve`` writes, with ``status='reserved'``, the reserving worker's
``host`` (``platform.node()``), ``pid``, ``connection_id`` (the server's id of its
connection: PostgreSQL's ``pg_backend_pid()``, MySQL's ``connection_id()``), ``user``
and ``reserved_time`` (server time). It records no process start time. A worker killed
with ``kill -9`` (or a preempted node) leaves its reservation for ever; DataJoint's own
answer, ``jobs.refresh(orphan_timeout=...)``, waits for an age that no timeout can get
right (a registration may take hours). :func:`release_orphans` asks instead whether the
reserving worker is still there:

* same host -- the process: ``pid`` gone (or a zombie) is dead; a process with that pid
  that started after the reservation is another process (a reused pid), so dead too; one
  that started before it is the worker itself, alive;
* any host -- the database connection: ``connection_id`` not among the server's
  connections (PostgreSQL ``pg_stat_activity``, MySQL/MariaDB
  ``information_schema.PROCESSLIST``), or held by another user, is dead. A MySQL account
  without the ``PROCESS`` privilege sees only its own connections: another user's
  reservation is then undecided.

A reservation is released only when one check says dead and none says alive, so a
worker in a container that shares this host's name but not its process table, or one
that reconnected, keeps its key. Releasing is the conditional delete of exactly that
reservation (key, host, pid, connection) and the insert of a pending job with its
priority and schedule, as ``refresh(orphan_timeout=...)`` re-pends orphans: a worker that
reserved the key again meanwhile is untouched.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psutil
from datajoint.errors import DuplicateError

from ._counts import auto_tables, jobs_table

__all__ = ["Reservation", "find_orphans", "release_orphans", "release_own_reservations",
           "release_pipeline_orphans"]

logger = logging.getLogger(__name__)

#: Seconds a process may seem to start after its reservation (query latency, the clock
#: tick of the process start time) and still count as the reserving worker.
START_SLACK = 1.0

Liveness = bool | None  # True alive, False dead, None cannot tell


@dataclass(frozen=True)
class Reservation:
    """A ``reserved`` job, as DataJoint's ``jobs.reserve`` recorded it.

    Attributes
    ----------
    key : dict
        The job's primary key.
    host, pid, connection_id, user
        Who reserved it: ``platform.node()``, ``os.getpid()``, the server's connection id
        and ``user`` as the database names the account.
    reserved_time : datetime
        When (database server time, naive).
    age : float
        Seconds since the reservation, on the server's clock.
    priority : int
        The job's priority (kept when it goes back to pending).
    scheduled_time : datetime
        The job's schedule (kept too).
    """

    key: dict
    host: str
    pid: int
    connection_id: int
    user: str
    reserved_time: datetime
    age: float
    priority: int
    scheduled_time: datetime


def _reservations(jobs: Any) -> list[Reservation]:
    reserved = jobs.reserved
    if not reserved:
        return []
    (now,) = jobs.connection.query("SELECT LOCALTIMESTAMP(3)").fetchone()
    fields = ("host", "pid", "connection_id", "user", "reserved_time", "priority",
              "scheduled_time")
    found = []
    for row in reserved.proj(*fields).to_dicts():
        key = {k: row[k] for k in jobs.primary_key}
        values = {k: row[k] for k in fields}
        age = (now - values["reserved_time"]).total_seconds() if values["reserved_time"] else 0.0
        found.append(Reservation(key=key, age=age, **values))
    return found


def _process_alive(reservation: Reservation, host: str) -> Liveness:
    """Same host: is the reserving process still running (not a later one with its pid)?"""
    if reservation.host != host or reservation.pid <= 0:
        return None
    try:
        process = psutil.Process(reservation.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        started = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return None
    return started <= time.time() - reservation.age + START_SLACK


def _user_name(user: str) -> str:
    """``'name@host'`` (MySQL's ``user()``) or ``'name'`` (PostgreSQL) -> ``'name'``."""
    return user.rsplit("@", 1)[0]


def _postgres_connections(connection: Any) -> Callable[[Reservation], Liveness]:
    rows = connection.query(
        "SELECT pid, usename FROM pg_stat_activity WHERE pid IS NOT NULL"
    ).fetchall()
    users = {int(pid): name for pid, name in rows}

    def alive(reservation: Reservation) -> Liveness:
        name = users.get(reservation.connection_id, False)
        if name is False:
            return False
        return name is None or not reservation.user or name == _user_name(reservation.user)

    return alive


def _mysql_connections(connection: Any) -> Callable[[Reservation], Liveness]:
    rows = connection.query("SELECT ID, USER FROM information_schema.PROCESSLIST").fetchall()
    users = {int(cid): name for cid, name in rows}
    sees_all = bool(
        connection.query(
            "SELECT 1 FROM information_schema.USER_PRIVILEGES "
            "WHERE PRIVILEGE_TYPE = 'PROCESS' LIMIT 1"
        ).fetchall()
    )
    me = _user_name(connection.get_user())

    def alive(reservation: Reservation) -> Liveness:
        owner = _user_name(reservation.user) if reservation.user else ""
        if reservation.connection_id in users:
            name = users[reservation.connection_id]
            return not owner or name == owner  # another user's thread: ids restarted
        return False if sees_all or owner == me else None

    return alive


def _connection_check(connection: Any) -> Callable[[Reservation], Liveness]:
    if connection.adapter.backend == "postgresql":
        return _postgres_connections(connection)
    if connection.adapter.backend == "mysql":
        return _mysql_connections(connection)
    return lambda reservation: None


def find_orphans(table: Any) -> list[Reservation]:
    """The reservations of ``table``'s jobs table whose worker is gone (see module doc).

    Parameters
    ----------
    table : table class or instance
        An auto-populated table.
    """
    instance = table() if isinstance(table, type) else table
    jobs = jobs_table(instance)
    reservations = _reservations(jobs)
    if not reservations:
        return []
    host = platform.node()
    connection_alive = _connection_check(jobs.connection)
    orphans = []
    for reservation in reservations:
        checks = (_process_alive(reservation, host), connection_alive(reservation))
        if True not in checks and False in checks:
            orphans.append(reservation)
    return orphans


def _release(jobs: Any, reservation: Reservation) -> bool:
    """Re-pend exactly this reservation; False when it changed meanwhile."""
    held = {
        "status": "reserved",
        "host": reservation.host,
        "pid": reservation.pid,
        "connection_id": reservation.connection_id,
    }
    if not (jobs & reservation.key & held).delete_quick(get_count=True):
        return False  # released by another worker, or completed
    pending = {
        **reservation.key,
        "status": "pending",
        "priority": reservation.priority,
        "scheduled_time": reservation.scheduled_time,
    }
    try:
        jobs.insert1(pending)
    except DuplicateError:
        pass  # a refresh added it meanwhile: pending all the same
    return True


def release_orphans(table: Any) -> list[dict]:
    """Return the keys of ``table`` reserved by dead workers to pending.

    Parameters
    ----------
    table : table class or instance
        An auto-populated table.

    Returns
    -------
    list of dict
        The keys released by this call (another worker may release some first).
    """
    instance = table() if isinstance(table, type) else table
    jobs = jobs_table(instance)
    released = []
    for reservation in find_orphans(instance):
        if _release(jobs, reservation):
            logger.info(
                "%s %s: released the reservation of %s pid %d (connection %d), gone",
                type(instance).__name__, reservation.key, reservation.host, reservation.pid,
                reservation.connection_id,
            )
            released.append(reservation.key)
    return released


def release_pipeline_orphans(pipeline: Any, tables: Iterable[Any] = ()) -> dict[str, list[dict]]:
    """:func:`release_orphans` for ``tables`` of ``pipeline`` (default all auto-populated
    tables); ``{table name: released keys}`` for the tables that had any."""
    released = {}
    for table in auto_tables(pipeline, tables):
        keys = release_orphans(table)
        if keys:
            released[table.__name__] = keys
    return released


def release_own_reservations(pipeline: Any, tables: Iterable[Any] = ()) -> dict[str, list[dict]]:
    """Return to pending every key this process holds reserved in ``tables``' jobs tables.

    A worker calls it after its database connection was lost and found again: the key it
    was making then was rolled back by the server, but its reservation (committed before
    the make) still names this live process, which no orphan check would release.
    """
    host, pid = platform.node(), os.getpid()
    released = {}
    for table in auto_tables(pipeline, tables):
        jobs = jobs_table(table())
        mine = [r for r in _reservations(jobs) if r.host == host and r.pid == pid]
        keys = [r.key for r in mine if _release(jobs, r)]
        if keys:
            logger.info("%s: released this worker's own reservations %s", table.__name__, keys)
            released[table.__name__] = keys
    return released
