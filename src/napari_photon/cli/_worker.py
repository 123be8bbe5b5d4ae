"""``napari-photon worker``: make pending keys until a limit or a signal, one line per key."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import threading
from typing import Any

from ._options import (
    KeyArgumentError,
    add_key_arguments,
    add_scheduler_option,
    add_threads_option,
    key_restrictions,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "worker",
        help="make pending keys of every table, polling, as one of many workers",
        description="A long-running worker: every auto-populated table in dependency order, "
        "keys reserved in DataJoint's jobs table (any number of workers on any machines "
        "share one database server and store), keys of dead workers given back. Stops "
        "cleanly on SIGTERM or Ctrl-C: the key being made is rolled back and pending again.",
    )
    parser.add_argument("--schema", default=None, help="pipeline schema (default: calcium_imaging)")
    parser.add_argument("--table", action="append", default=[], help="only these tables")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="stop after this many seconds (the key being made is rolled back)")
    parser.add_argument("--max-keys", type=int, default=None, metavar="N",
                        help="stop after N keys made or failed")
    parser.add_argument("--reconnect-timeout", type=float, default=600.0, metavar="SECONDS",
                        help="how long to wait for a database server that went away "
                        "(default 600)")
    parser.add_argument("--poll", type=float, default=10.0, metavar="SECONDS",
                        help="wait between looks for new work (default 10)")
    add_threads_option(parser)
    add_scheduler_option(parser)
    add_key_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM / SIGINT set ``stop``; a second one acts as usual (ends the process)."""

    def handler(signum: int, frame: Any) -> None:
        stop.set()  # no print here: the main thread may be inside one
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _line(report: Any) -> str:
    key = " ".join(f"{k}={v}" for k, v in report.key.items())
    text = f"{report.table:<16} {key:<40} {report.status:<9} {report.seconds:7.1f} s"
    return f"{text}  {report.error}" if report.error else text


def run(args: argparse.Namespace) -> int:
    from .._threads import limit_threads

    limit_threads(args.threads)

    from .. import pipeline
    from ..pipeline._reconnect import ServerUnreachable

    chosen = pipeline.activate(args.schema or pipeline.DEFAULT_SCHEMA)
    names = {t.__name__ for t in chosen.computed}
    unknown = [t for t in args.table if t not in names]
    if unknown:
        print(f"unknown table(s) {unknown}; choose from {sorted(names)}")
        return 2
    try:
        restrictions = key_restrictions(chosen, args.keys)
    except KeyArgumentError as err:
        print(f"error: {err}")
        return 2
    stop = threading.Event()
    _stop_on_signals(stop)
    tables = args.table or sorted(names, key=[t.__name__ for t in chosen.computed].index)
    print(f"worker {platform.node()} pid {os.getpid()} on {chosen.database}: "
          f"{', '.join(tables)}", flush=True)
    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(pipeline.using_cluster(args.scheduler))
        except ValueError as err:
            print(f"error: {err}")
            return 2
        if client is not None:
            print(f"chunks go to the Dask scheduler at {client.scheduler.address}", flush=True)
        try:
            summary = chosen.run_worker(
                *restrictions,
                tables=tuple(args.table),
                time_limit=args.time_limit,
                max_keys=args.max_keys,
                poll=args.poll,
                stop=stop,
                on_key=lambda report: print(_line(report), flush=True),
                reconnect_timeout=args.reconnect_timeout,
                on_connection_lost=lambda err: print(
                    f"database connection lost ({type(err).__name__}); the key being made was "
                    "rolled back; reconnecting", flush=True),
            )
        except ServerUnreachable as err:
            print(f"error: {err}", flush=True)
            return 1
    print(f"worker stopped ({summary.reason}): {summary.made} made, {summary.errors} errors",
          flush=True)
    return 0
