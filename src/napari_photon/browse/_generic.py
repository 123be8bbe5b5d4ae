"""Browsing a schema that is not a napari-photon pipeline: its ``<photon@>`` tables' rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._viewer_layers import MOVIE_LAYER
from ._filter import KeyFilter
from ._open import METADATA_KEY, movie_view
from ._schemas import SchemaInfo, photon_columns

__all__ = ["RowNode", "TableNode", "load_tables", "row_layers"]

#: rows listed per table (the filter box narrows larger tables)
ROW_LIMIT = 1000
LayerData = tuple[Any, dict, str]


@dataclass(frozen=True)
class RowNode:
    """One row of a table with ``<photon@>`` columns."""

    table: str
    key: dict
    fields: tuple[str, ...]

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.key.items())


@dataclass(frozen=True)
class TableNode:
    """A table with ``<photon@>`` columns and (up to :data:`ROW_LIMIT` of) its rows."""

    full_name: str
    rows: tuple[RowNode, ...]
    truncated: bool = False

    @property
    def label(self) -> str:
        name = self.full_name.replace('"', "").replace("`", "")
        more = "+" if self.truncated else ""
        return f"{name} ({len(self.rows)}{more} rows)"


def _free_table(connection: Any, full_name: str) -> Any:
    import datajoint as dj

    return dj.FreeTable(connection, full_name.replace('"', "").replace("`", ""))


def load_tables(
    connection: Any, schema: SchemaInfo, key_filter: KeyFilter | None = None
) -> list[TableNode]:
    """The ``<photon@>`` tables of ``schema`` with their primary keys, filtered."""
    key_filter = key_filter or KeyFilter()
    nodes = []
    for full_name in schema.photon_tables:
        table = _free_table(connection, full_name)
        fields = tuple(photon_columns(table))
        if not key_filter.attributes <= set(table.heading.names):
            nodes.append(TableNode(full_name, ()))  # the filter names what it lacks
            continue
        keys = key_filter.restrict(table).keys(
            order_by=list(table.primary_key), limit=ROW_LIMIT + 1
        )
        rows = tuple(RowNode(full_name, dict(k), fields) for k in keys[:ROW_LIMIT])
        nodes.append(TableNode(full_name, rows, truncated=len(keys) > ROW_LIMIT))
    return nodes


def row_layers(connection: Any, row: RowNode, display: str = "stabilized") -> list[LayerData]:
    """Lazy image layers of a row's ``<photon@>`` columns."""
    table = _free_table(connection, row.table) & row.key
    layers = []
    for field in row.fields:
        movie = table.fetch1(field)
        data, limits = movie_view(movie, display)  # type: ignore[arg-type]
        layers.append(
            (
                data,
                {
                    "name": f"{row.label} {field}",
                    "contrast_limits": limits,
                    **MOVIE_LAYER,
                    "metadata": {
                        "key": dict(row.key),
                        METADATA_KEY: {
                            "table": row.table,
                            "row_key": dict(row.key),
                            "role": "raw",
                            "field": field,
                            "display": display,
                        },
                    },
                },
                "image",
            )
        )
    return layers
