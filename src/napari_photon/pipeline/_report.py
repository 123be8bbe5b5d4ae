"""Sizes and row counts of the pipeline's tables, for the CLI and the demo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..storage import photon_attributes


@dataclass(frozen=True)
class StoredMovie:
    """One ``<photon@>`` value: where it is and how much it takes."""

    table: str
    key: dict
    field: str
    store: str
    original_nbytes: int
    stored_nbytes: int

    @property
    def ratio(self) -> float:
        """Original size over stored size (how many times smaller)."""
        return self.original_nbytes / max(self.stored_nbytes, 1)


def stored_movies(pipeline: Any, tables: tuple = ()) -> list[StoredMovie]:
    """Every ``<photon@>`` value in ``tables`` (default: all of ``pipeline``'s), read from
    row metadata only."""
    found = []
    for table in tables or pipeline.tables:
        fields = photon_attributes(table())
        if not fields:
            continue
        for row in table().proj(*fields).to_dicts():
            key = {k: row[k] for k in table.primary_key}
            for field in fields:
                movie = row[field]
                found.append(
                    StoredMovie(
                        table=table.__name__,
                        key=key,
                        field=field,
                        store=movie.store,
                        original_nbytes=movie.original_nbytes,
                        stored_nbytes=movie.stored_nbytes,
                    )
                )
    return found


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
