"""``napari-photon populate``: fill the pipeline's tables, with a progress bar."""

from __future__ import annotations

import argparse
from typing import Any

from ._options import (
    KeyArgumentError,
    add_key_arguments,
    add_threads_option,
    key_restrictions,
)
from ._progress import terminal_progress


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "populate",
        help="populate the pipeline's imported and computed tables",
        description="Populate Recording, VolumeRecording, MotionCorrected, ROI and Trace "
        "in dependency order. With --reserve-jobs, run as one of several workers sharing "
        "the work through DataJoint's jobs table.",
    )
    parser.add_argument("--schema", default=None, help="pipeline schema (default: calcium_imaging)")
    parser.add_argument("--table", action="append", default=[], help="only these tables")
    parser.add_argument("--reserve-jobs", action="store_true", help="distributed populate")
    parser.add_argument("--keep-going", action="store_true", help="record errors and go on")
    add_threads_option(parser)
    add_key_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from .._threads import limit_threads

    limit_threads(args.threads)

    from .. import pipeline

    chosen = pipeline.activate(args.schema or pipeline.DEFAULT_SCHEMA)
    try:
        restrictions = key_restrictions(chosen, args.keys)
    except KeyArgumentError as err:
        print(f"error: {err}")
        return 2
    names = {t.__name__: t for t in chosen.computed}
    unknown = [t for t in args.table if t not in names]
    if unknown:
        print(f"unknown table(s) {unknown}; choose from {sorted(names)}")
        return 2
    with terminal_progress():
        results = chosen.populate(
            *restrictions,
            tables=tuple(names[t] for t in args.table),
            reserve_jobs=args.reserve_jobs,
            suppress_errors=args.keep_going,
        )
    failed = 0
    for r in results:
        print(f"{r.table:<16} +{r.done:<5} {r.seconds:7.1f} s  errors: {len(r.errors)}")
        for key, message in r.errors:
            failed += 1
            print(f"    {key}: {message}")
    return 1 if failed else 0
