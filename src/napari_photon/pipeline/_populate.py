"""Populate the pipeline's auto-populated tables in dependency order."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any



@dataclass
class PopulateResult:
    """What one table's populate did."""

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
        Use DataJoint's jobs table so several workers can share the work.
    suppress_errors : bool
        Record failing keys (in the jobs table when reserving) and go on.
    display_progress : bool
        DataJoint's per-key progress bar.
    """
    chosen = pipeline.auto_tables(tables)
    results = []
    for table in chosen:
        start = time.perf_counter()
        before = len(table())
        outcome = table.populate(
            *restrictions,
            reserve_jobs=reserve_jobs,
            suppress_errors=suppress_errors,
            display_progress=display_progress,
        )
        errors = _errors(outcome)
        results.append(
            PopulateResult(
                table=table.__name__,
                done=len(table()) - before,
                errors=errors,
                seconds=time.perf_counter() - start,
            )
        )
    return results


def _errors(outcome: Any) -> list[tuple[dict, str]]:
    if isinstance(outcome, dict):
        return [(dict(k), str(e)) for k, e in outcome.get("error_list", [])]
    if isinstance(outcome, list):
        return [(dict(k), str(e)) for k, e in outcome]
    return []
