"""Storage tiers across a pipeline: move movies between stores, verify every shard."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..storage import DamagedShard, MoveResult, move_movie, photon_attributes, verify_location

Restrict = Callable[[Any], Any]


@dataclass(frozen=True)
class MovieCheck:
    """The verification of one stored movie.

    Attributes
    ----------
    table : str
    key : dict
    field : str
    store : str
    damaged : list of DamagedShard
        Empty when every shard is whole.
    """

    table: str
    key: dict
    field: str
    store: str
    damaged: list[DamagedShard]


def _values(pipeline: Any, restrict: Restrict | None) -> Iterator[tuple[Any, dict, str]]:
    """(table class, primary key, field) of every ``<photon@>`` value, restricted."""
    for table in pipeline.tables:
        fields = photon_attributes(table())
        if not fields:
            continue
        rows = table() if restrict is None else restrict(table())
        if rows is None:  # the restriction does not reach this table
            continue
        for key in rows.keys():
            for field in fields:
                yield table, key, field


def move_movies(pipeline: Any, restrict: Restrict | None = None, *, source: str, target: str,
                report: Callable[[MoveResult], None] | None = None) -> list[MoveResult]:
    """Move the movies of the rows ``restrict`` selects from store ``source`` to
    ``target`` (:func:`napari_photon.storage.move_movie`, one movie at a time).

    Parameters
    ----------
    pipeline : Pipeline
    restrict : callable, optional
        ``restrict(table)`` gives the rows to move, or None for a table it does not reach
        (e.g. ``KeyFilter.restrict_through``); all rows when ``restrict`` is None.
    source, target : str
        Store names, e.g. ``"active"`` and ``"archive"``.
    report : callable, optional
        Called with each movie's :class:`MoveResult` as soon as it is done.
    """
    results = []
    for table, key, field in _values(pipeline, restrict):
        result = move_movie(table, key, field, source=source, target=target)
        results.append(result)
        if report is not None:
            report(result)
    return results


def verify_movies(pipeline: Any, restrict: Restrict | None = None,
                  report: Callable[[MovieCheck], None] | None = None) -> list[MovieCheck]:
    """Re-read every shard of the selected movies and compare it with its checksum."""
    checks = []
    for table, key, field in _values(pipeline, restrict):
        movie = (table() & key).fetch1(field)
        check = MovieCheck(table.__name__, key, field, movie.store,
                           verify_location(movie.location, movie.metadata))
        checks.append(check)
        if report is not None:
            report(check)
    return checks
