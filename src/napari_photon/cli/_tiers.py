"""``napari-photon archive``, ``restore`` and ``verify``: storage tiers and shard checks."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._options import add_key_arguments, select_or_report


def add_parser(subparsers: Any) -> None:
    for name, source, target, verb in (("archive", "active", "archive", "to"),
                                       ("restore", "archive", "active", "back to")):
        parser = subparsers.add_parser(
            name,
            help=f"move recordings' movies {verb} the {target} store",
            description=f"Move the <photon@> movies of the selected rows from the {source!r} "
            f"store {verb} {target!r}: copy, check every shard's checksum, point the row at "
            "the copy in one transaction, delete the source. Interrupted, the row still points "
            "at a complete copy; run the command again to finish.",
        )
        parser.add_argument("--schema", default=None, help="pipeline schema")
        parser.add_argument("--from", dest="source", default=source, metavar="STORE",
                            help=f"store to move from (default {source})")
        parser.add_argument("--to", dest="target", default=target, metavar="STORE",
                            help=f"store to move to (default {target})")
        add_key_arguments(parser)
        parser.set_defaults(func=run_move)
    verify = subparsers.add_parser(
        "verify",
        help="re-read every shard of the selected movies and report damaged ones",
        description="Compare every shard of the selected <photon@> movies with the checksum "
        "recorded when it was written; list each damaged shard by row and frames. Exit "
        "status 1 when any is damaged.",
    )
    verify.add_argument("--schema", default=None, help="pipeline schema")
    add_key_arguments(verify)
    verify.set_defaults(func=run_verify)


def _key_text(key: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in key.items())


def run_move(args: argparse.Namespace) -> int:
    from ..pipeline._report import human_bytes
    from ..storage import MoveError

    selection = select_or_report(args)
    if selection is None:
        return 2
    chosen, restrict = selection.pipeline, selection.restrict()

    def report(result: Any) -> None:
        size = f" ({human_bytes(result.nbytes)})" if result.nbytes else ""
        print(f"{result.table:<16} {_key_text(result.key)}  {result.field}: "
              f"{result.action}{size}, in {result.store}", flush=True)

    try:
        results = chosen.move_movies(restrict, source=args.source, target=args.target,
                                     report=report)
    except MoveError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not results:
        print("no <photon@> movies match")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    selection = select_or_report(args)
    if selection is None:
        return 2
    chosen, restrict = selection.pipeline, selection.restrict()

    def report(check: Any) -> None:
        state = "ok" if not check.damaged else f"{len(check.damaged)} damaged shard(s)"
        print(f"{check.table:<16} {_key_text(check.key)}  {check.field} [{check.store}]: "
              f"{state}", flush=True)
        for shard in check.damaged:
            t0, t1 = shard.frames
            print(f"    shard {shard.key} (frames {t0}-{t1 - 1}): {shard.problem}")

    checks = chosen.verify_movies(restrict, report=report)
    damaged = sum(len(c.damaged) for c in checks)
    print(f"{len(checks)} movie(s) checked, {damaged} damaged shard(s)")
    return 1 if damaged else 0
