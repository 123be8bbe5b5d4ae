"""Populate the pipeline's auto-populated tables in dependency order (``Table.populate``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ._counts import auto_tables
from ._key_steps import populate_result
from ._orphans import release_orphans


@dataclass
class PopulateResult:
    """What one table's populate did.

    Attributes
    ----------
    table : str
        Class name of the table.
    done : int
        Keys this call made (DataJoint's ``success_count``); rows other workers inserted
        meanwhile do not count, and a key whose ``make`` inserts several rows counts once.
    errors : list of (dict, str)
        Keys whose ``make`` failed (with ``suppress_errors``), and the messages.
    seconds : float
        How long the table's populate took.
    """

    table: str
    done: int = 0
    errors: list[tuple[dict, str]] = field(default_factory=list)
    seconds: float = 0.0


def populate(
    pipeline: Any,
    *restrictions: Any,
    tables: tuple = (),
    reserve_jobs: bool = False,
    suppress_errors: bool = False,
    display_progress: bool = False,
) -> list[PopulateResult]:
    """Populate ``tables`` (default: every auto-populated table) in dependency order.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables (this is the method ``Pipeline.populate``).
    *restrictions
        DataJoint restrictions applied to each table's key source (e.g. a session key).
    tables : tuple of table classes
        Subset to populate; order does not matter.
    reserve_jobs : bool
        Use DataJoint's jobs table so several workers can share the work. Keys reserved
        by workers that are gone go back to pending first (:mod:`._orphans`).
    suppress_errors : bool
        Record failing keys (in the jobs table when reserving) and go on.
    display_progress : bool
        DataJoint's per-key progress bar.
    """
    results = []
    for table in auto_tables(pipeline, tables):
        start = time.perf_counter()
        if reserve_jobs:
            release_orphans(table)
        made, errors = populate_result(
            table.populate(
                *restrictions,
                reserve_jobs=reserve_jobs,
                suppress_errors=suppress_errors,
                display_progress=display_progress,
            )
        )
        results.append(
            PopulateResult(
                table=table.__name__,
                done=made,
                errors=[(dict(key), str(error)) for key, error in errors],
                seconds=time.perf_counter() - start,
            )
        )
    return results
