"""Binding the pipeline's tables to a database schema."""

from __future__ import annotations

from typing import Any

import datajoint as dj

from . import _tables

DEFAULT_SCHEMA = "calcium_imaging"


def activate(schema_name: str = DEFAULT_SCHEMA, *, connection: Any = None) -> dj.Schema:
    """Declare (or open) the pipeline in ``schema_name`` and bind the table classes to it.

    Parameters
    ----------
    schema_name : str
        Database schema to use; each lab or project can keep its own.
    connection : datajoint.Connection, optional
        Default: :func:`napari_photon.db.connect` (a configured server, or the embedded
        PostgreSQL server).

    Returns
    -------
    datajoint.Schema
        The activated schema. Calling again with another name or connection rebinds the
        same table classes there (tests and multi-lab scripts do this).
    """
    if connection is None:
        from ..db import connect

        connection = connect()
    # The design fixes one Recording row per TIFF file and one Trace row per ROI: their
    # keys extend the parent's, which DataJoint 2 allows for auto-populated tables only
    # with this switch.
    connection._config.jobs.allow_new_pk_fields_in_computed_tables = True
    schema = _tables.schema
    if schema.is_activated():
        if schema.database == schema_name and schema.connection is connection:
            return schema
        schema = _rebind(schema)
    schema.activate(schema_name, connection=connection)
    return schema


def _rebind(old: dj.Schema) -> dj.Schema:
    """A fresh, unactivated schema object that will re-declare the same table classes."""
    new = dj.Schema()
    context = vars(_tables)
    for table in _tables.TABLES:
        new.declare_list.append((table, context))
    _tables.schema = new
    return new


def current_schema() -> dj.Schema:
    """The schema the tables are bound to (activated or not)."""
    return _tables.schema
