"""Which schemas on a server hold ``<photon@>`` columns, and which are napari-photon pipelines."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["SchemaInfo", "activate_schema", "default_schema", "discover_schemas", "photon_columns"]


@dataclass(frozen=True)
class SchemaInfo:
    """A schema with ``<photon@>`` columns.

    Attributes
    ----------
    name : str
        Database schema name.
    photon_tables : tuple of str
        Full table names (as DataJoint quotes them) holding ``<photon@>`` columns.
    is_pipeline : bool
        True when the schema holds napari-photon's pipeline tables (Mouse, Session,
        Recording, ...), so :func:`napari_photon.pipeline.activate` can bind to it.
    """

    name: str
    photon_tables: tuple[str, ...]
    is_pipeline: bool

    @property
    def label(self) -> str:
        """For a picker: the name, and what kind of schema it is."""
        kind = "pipeline" if self.is_pipeline else f"{len(self.photon_tables)} photon tables"
        return f"{self.name} ({kind})"


def photon_columns(table: Any) -> list[str]:
    """Names of the ``<photon@>`` attributes of ``table`` (reads its heading only)."""
    return [
        name
        for name, attr in table.heading.attributes.items()
        if attr.codec is not None and getattr(attr.codec, "name", None) == "photon"
    ]


#: tables whose presence marks a schema as a napari-photon pipeline (DataJoint's names)
PIPELINE_TABLE_NAMES = frozenset({"mouse", "session", "_recording"})


def _table_names(connection: Any, schema: str) -> list[str]:
    rows = connection.query(connection.adapter.list_tables_sql(schema)).fetchall()
    return sorted(str(r[0]) for r in rows if not str(r[0]).startswith("~"))


def discover_schemas(connection: Any) -> list[SchemaInfo]:
    """Schemas on ``connection``'s server whose tables hold ``<photon@>`` columns.

    Reads table headings only (no rows). Schemas the user cannot read are skipped.

    Parameters
    ----------
    connection : datajoint.Connection

    Returns
    -------
    list of SchemaInfo
        Sorted by name.
    """
    import datajoint as dj

    found = []
    for schema in sorted(dj.list_schemas(connection)):
        try:
            names = _table_names(connection, schema)
        except Exception as err:  # noqa: BLE001 - no privilege on this schema: not shown
            logger.debug("skipping schema %s: %s", schema, err)
            continue
        photon = []
        for name in names:
            try:
                table = dj.FreeTable(connection, f"{schema}.{name}")
                if photon_columns(table):
                    photon.append(table.full_table_name)
            except Exception as err:  # noqa: BLE001 - a table DataJoint cannot read
                logger.debug("skipping table %s.%s: %s", schema, name, err)
                continue
        if photon:
            found.append(SchemaInfo(schema, tuple(photon), PIPELINE_TABLE_NAMES <= set(names)))
    return found


def default_schema(schemas: Sequence[SchemaInfo], preferred: str | None = None) -> str | None:
    """The schema to preselect: ``preferred`` (the pipeline's) if listed, else the first pipeline.

    Parameters
    ----------
    schemas : sequence of SchemaInfo
    preferred : str, optional
        Default: the schema of the pipeline activated last, else ``pipeline.DEFAULT_SCHEMA``.
    """
    if preferred is None:
        from .. import pipeline

        preferred = (
            pipeline.active().database if pipeline.is_activated() else pipeline.DEFAULT_SCHEMA
        )
    names = [s.name for s in schemas]
    if preferred in names:
        return preferred
    for schema in schemas:
        if schema.is_pipeline:
            return schema.name
    return names[0] if names else None


def activate_schema(connection: Any, schema: SchemaInfo | str) -> Any:
    """Open the pipeline in ``schema`` on ``connection``.

    Returns
    -------
    Pipeline
        Its tables (``PipelineTables.from_pipeline`` gives the browser's view of them).

    Raises
    ------
    ValueError
        When ``schema`` holds no pipeline (activating would declare tables in it).
    """
    from .. import pipeline

    if isinstance(schema, SchemaInfo):
        if not schema.is_pipeline:
            raise ValueError(f"{schema.name} is not a napari-photon pipeline schema")
        schema = schema.name
    return pipeline.activate(schema, connection=connection)
