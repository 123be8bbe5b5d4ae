"""``napari-photon db start|stop|status``: the embedded PostgreSQL server.

``start`` starts the embedded server persistent: it keeps running after napari-photon
processes exit, until ``napari-photon db stop``. Without ``db start``, a napari-photon process
that needs the database starts the server itself and the last such process to exit stops it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``db`` command (with ``start``, ``stop``, ``status``) to ``subparsers``."""
    parser = subparsers.add_parser(
        "db",
        help="manage the embedded PostgreSQL server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="db_command", metavar="{start,stop,status}")
    sub.add_parser(
        "start", help="start the embedded server and keep it running until `db stop`"
    )
    sub.add_parser("stop", help="stop the embedded server")
    status = sub.add_parser(
        "status", help="show the database DataJoint uses and the embedded server's state"
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)
    return parser


def _print(info: dict[str, Any]) -> None:
    width = max(len(k) for k in info)
    for key, value in info.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, (list, tuple)):
            value = " ".join(str(v) for v in value) or "-"
        elif value is None:
            value = "-"
        print(f"{key + ':':<{width + 1}} {value}")


def _status() -> dict[str, Any]:
    import datajoint as dj

    from ..db import database_is_configured, embedded_server

    server = embedded_server()
    st = server.status()
    if database_is_configured():
        backend = dj.config["database.backend"]
        host = dj.config["database.host"]
        port = dj.config["database.port"]
        embedded = False
    else:
        backend, host, port, embedded = "postgresql", st["host"], st["port"], True
    return {
        "backend": backend,
        "host": host,
        "port": port,
        "embedded": embedded,
        "pgdata": st["pgdata"],
        "running": st["running"],
        "pid": st["pid"],
        "persistent": st["persistent"],
        "clients": st["clients"],
    }


def run(args: argparse.Namespace) -> int:
    """Run ``napari-photon db <command>``; returns the exit code."""
    from ..db import database_is_configured, embedded_server

    command = getattr(args, "db_command", None) or "status"
    server = embedded_server()
    try:
        if command == "start":
            if database_is_configured():
                print(
                    "note: DataJoint is configured for another server (DJ_HOST / DJ_BACKEND / "
                    "datajoint.json); napari-photon uses that one unless "
                    "NAPARI_PHOTON_DATABASE=embedded",
                    file=sys.stderr,
                )
            st = server.ensure_running(persistent=True)
            print(f"embedded PostgreSQL running on {st['host']}:{st['port']} (pid {st['pid']})")
            print(f"data: {st['pgdata']}")
            return 0
        if command == "stop":
            was_running = server.status()["running"]
            server.stop()
            print("embedded PostgreSQL stopped" if was_running else "embedded PostgreSQL was not running")
            return 0
        if command == "status":
            info = _status()
            if getattr(args, "json", False):
                print(json.dumps(info))
            else:
                _print(info)
            return 0
    except Exception as err:  # report, do not dump a traceback at the user
        print(f"napari-photon db {command}: {err}", file=sys.stderr)
        return 1
    print(f"unknown db command: {command}", file=sys.stderr)
    return 2
