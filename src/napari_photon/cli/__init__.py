"""The ``napari-photon`` command line: everything the widgets do, without a screen."""

from __future__ import annotations

import argparse
import sys
import warnings

from .. import __version__


def build_parser() -> argparse.ArgumentParser:
    from . import _db, _demo, _export, _import, _populate, _storage, _tiers, _worker

    parser = argparse.ArgumentParser(
        prog="napari-photon",
        description="Two-photon movies in a DataJoint pipeline: store, process, view.",
    )
    parser.add_argument("--version", action="version", version=f"napari-photon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (_demo, _populate, _worker, _storage, _tiers, _import, _export, _db):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message="No datajoint.json found")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted: nothing half-written was kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
