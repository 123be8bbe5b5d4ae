"""Options several commands share."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive whole number")
    return value


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: what :func:`napari_photon._threads.limit_threads` caps."""
    parser.add_argument(
        "--threads", type=_positive_int, default=None, metavar="N",
        help="threads this process may use (default: NAPARI_PHOTON_THREADS, OMP_NUM_THREADS, "
        "SLURM_CPUS_PER_TASK, else the CPUs it may run on)",
    )


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS``: a dask.distributed scheduler for the chunks of each key."""
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="send the chunks inside each key to this dask.distributed scheduler "
        "(e.g. tcp://host:8786); default: threads in this process",
    )


def add_key_arguments(parser: argparse.ArgumentParser) -> None:
    """Positional ``attribute=value`` restrictions, the same in every command."""
    parser.add_argument(
        "keys", nargs="*", metavar="attr=value",
        help="restrict to these keys: attribute=value (value|value for either), e.g. "
        "mouse_id=3 session_date=2026-11-25; values, never SQL",
    )


class KeyArgumentError(ValueError):
    """Restrictions on the command line that cannot be understood."""


def key_filter(pipeline: object, keys: list[str]):
    """The :class:`~napari_photon.browse.KeyFilter` of ``keys`` over ``pipeline``'s tables.

    Raises
    ------
    KeyArgumentError
        A term without ``=``, an unknown attribute or a value of the wrong type; the
        message names it and what is expected.
    """
    import shlex

    from ..browse._filter import FilterError, KeyFilter, filterable_attributes

    for term in keys:
        if "=" not in term:
            raise KeyArgumentError(f"{term!r}: expected attribute=value, e.g. mouse_id=3")
    try:
        return KeyFilter.parse(" ".join(shlex.quote(k) for k in keys),
                               filterable_attributes(pipeline.tables))
    except FilterError as err:
        raise KeyArgumentError(str(err)) from None


def _is_system_schema(name: str) -> bool:
    """The server's own schemas (PostgreSQL's ``public``, ``pg_*``; MySQL's ``mysql``,
    ``sys``, ...), which hold no pipeline."""
    return name.startswith("pg_") or name in (
        "public", "information_schema", "mysql", "sys", "performance_schema")


def activate_existing(schema: str | None):
    """The pipeline in ``schema`` (default: the standard one), which must exist already:
    commands that only read or move stored data never create an empty schema.

    Raises
    ------
    KeyArgumentError
        No such schema on the server; the message lists those there are.
    """
    import datajoint as dj

    from .. import pipeline
    from ..db import connect

    name = schema or pipeline.DEFAULT_SCHEMA
    connection = connect()
    known = sorted(dj.list_schemas(connection=connection))
    if name not in known:
        listed = ", ".join(s for s in known if not _is_system_schema(s)) or "none"
        raise KeyArgumentError(f"no schema {name!r} on the server; schemas there: {listed}")
    return pipeline.activate(name, connection=connection)


@dataclass(frozen=True)
class Selection:
    """An existing pipeline and the command line's keys over it."""

    pipeline: Any
    keys: Any

    def rows(self, table: Any) -> Any | None:
        """``table``'s rows the keys select (all without keys); None when the keys do not
        reach ``table`` (see ``KeyFilter.restrict_through``)."""
        if not self.keys:
            return table()
        return self.keys.restrict_through(table(), self.pipeline.tables)

    def restrict(self) -> Any | None:
        """``restrict(table)`` for the pipeline's bulk operations; None without keys."""
        return (lambda table: self.rows(type(table))) if self.keys else None


def select(args: argparse.Namespace) -> Selection:
    """``--schema`` (which must exist) and the positional keys of ``args``.

    Raises
    ------
    KeyArgumentError
        See :func:`activate_existing` and :func:`key_filter`.
    """
    chosen = activate_existing(args.schema)
    return Selection(chosen, key_filter(chosen, args.keys))


def select_or_report(args: argparse.Namespace) -> Selection | None:
    """:func:`select`, or None after printing why not (the command then exits with 2)."""
    try:
        return select(args)
    except KeyArgumentError as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def key_restrictions(pipeline: Any, keys: list[str]) -> list[Any]:
    """``keys`` as DataJoint restrictions for ``populate(*restrictions)`` (see
    ``KeyFilter.as_restrictions``): values, never SQL.

    Raises
    ------
    KeyArgumentError
    """
    from ..browse._filter import FilterError

    try:
        return key_filter(pipeline, keys).as_restrictions(pipeline.tables)
    except FilterError as err:
        raise KeyArgumentError(str(err)) from None
