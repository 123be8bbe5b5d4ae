"""Which processes are alive: the postmaster of a data folder, and the client processes
that share the embedded server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psutil


def read_postmaster_pid(pgdata: Path) -> dict[str, Any] | None:
    """The fields of ``pgdata/postmaster.pid`` (``pid``, ``start_time``, ``port``,
    ``socket_dir``, ``listen``, ``status``), or None when it is missing or unreadable."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        return None
    info: dict[str, Any] = {}
    try:
        info["pid"] = int(lines[0])
        info["start_time"] = int(lines[2]) if len(lines) > 2 else None
        info["port"] = int(lines[3]) if len(lines) > 3 and lines[3].strip() else None
        info["socket_dir"] = lines[4].strip() if len(lines) > 4 else ""
        info["listen"] = lines[5].strip() if len(lines) > 5 else ""
        info["status"] = lines[7].strip() if len(lines) > 7 else ""
    except (ValueError, IndexError):
        return None
    return info


def running_postmaster(pgdata: Path) -> dict[str, Any] | None:
    """Info of the running postmaster of the data folder ``pgdata``
    (:func:`read_postmaster_pid`), or None."""
    info = read_postmaster_pid(pgdata)
    if info is None:
        return None
    try:
        proc = psutil.Process(info["pid"])
        if proc.status() == psutil.STATUS_ZOMBIE or proc.name() != "postgres":
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return info


def process_alive(pid: int, create_time: float | None = None) -> bool:
    """Whether process ``pid`` runs (not a zombie) and, given ``create_time``, is the same
    process that was recorded (not a reused pid)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if create_time is not None and abs(proc.create_time() - create_time) > 0.5:
            return False  # pid reused by another process
        return True
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        return False


def self_entry() -> dict[str, Any]:
    """This process as a client-list entry: ``pid`` and ``create_time``."""
    pid = os.getpid()
    return {"pid": pid, "create_time": psutil.Process(pid).create_time()}
