"""``napari-photon storage`` and ``napari-photon gc``: what the movies take, and cleanup."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    storage = subparsers.add_parser(
        "storage",
        help="per movie: original size, stored size, ratio and store",
    )
    storage.add_argument("--schema", default=None, help="pipeline schema")
    storage.set_defaults(func=run_storage)
    gc = subparsers.add_parser(
        "gc",
        help="remove zarrs that no row references (left by interrupted runs)",
        description="Find <photon@> zarrs in the configured stores that no row references, "
        "using DataJoint's garbage collector, and remove those older than --min-age (a "
        "younger one may belong to a worker that is about to insert its row).",
    )
    gc.add_argument("--schema", default=None, help="pipeline schema")
    gc.add_argument("--dry-run", action="store_true", help="only report")
    gc.add_argument("--min-age", type=float, default=3600.0, help="seconds (default 3600)")
    gc.set_defaults(func=run_gc)


def run_storage(args: argparse.Namespace) -> int:
    from .. import pipeline
    from ..pipeline._report import human_bytes

    movies = pipeline.activate(args.schema or pipeline.DEFAULT_SCHEMA).stored_movies()
    if not movies:
        print("no <photon@> movies stored yet")
        return 0
    header = f"{'table':<16} {'key':<44} {'original':>10} {'stored':>10} {'ratio':>7}  store"
    print(header)
    print("-" * len(header))
    for m in movies:
        key = ", ".join(f"{k}={v}" for k, v in m.key.items() if k.endswith(("_id", "_date", "_num")))
        print(
            f"{m.table:<16} {key:<44} {human_bytes(m.original_nbytes):>10} "
            f"{human_bytes(m.stored_nbytes):>10} {m.ratio:>6.2f}x  {m.store}"
        )
    total_o = sum(m.original_nbytes for m in movies)
    total_s = sum(m.stored_nbytes for m in movies)
    print("-" * len(header))
    print(f"{'total':<61} {human_bytes(total_o):>10} {human_bytes(total_s):>10} "
          f"{total_o / max(total_s, 1):>6.2f}x")
    return 0


def run_gc(args: argparse.Namespace) -> int:
    from .. import pipeline

    chosen = pipeline.activate(args.schema or pipeline.DEFAULT_SCHEMA)
    report = pipeline.collect_garbage(chosen.schema, dry_run=args.dry_run, min_age=args.min_age)
    verb = "would remove" if args.dry_run else "removed"
    for store, info in report["stores"].items():
        count = info["old_enough"] if args.dry_run else info["removed"]
        print(f"{store}: {info['orphans']} orphaned zarr(s), {verb} {count}")
        for path in info["paths"]:
            print(f"    {path}")
    return 0
