"""Opening the pipeline in a database schema: one :class:`Pipeline` per schema."""

from __future__ import annotations

import threading
from typing import Any

import datajoint as dj

from ._log_filters import design_document_types_quiet, once_per_roi_set_table
from ._pipeline import Pipeline

DEFAULT_SCHEMA = "calcium_imaging"

_lock = threading.Lock()
_pipelines: dict[tuple[int, str, str | None], Pipeline] = {}
_active: Pipeline | None = None


class NotActivated(RuntimeError):
    """No pipeline has been activated in this process yet."""

    def __init__(self, name: str = "the pipeline") -> None:
        super().__init__(
            f"{name} is not bound to a database schema yet: call "
            "napari_photon.pipeline.activate('schema_name') first"
        )


def activate(
    schema_name: str = DEFAULT_SCHEMA, *, connection: Any = None, store: str | None = None
) -> Pipeline:
    """The pipeline declared (or opened) in ``schema_name``.

    The returned pipeline also becomes the one the module-level names
    (``pipeline.Mouse``, ``pipeline.populate``, ...) refer to. Pipelines activated
    before keep working through the objects :func:`activate` returned for them.

    Parameters
    ----------
    schema_name : str
        Database schema to use; each lab or project can keep its own.
    connection : datajoint.Connection, optional
        Default: :func:`napari_photon.db.connect` (a configured server, or the embedded
        PostgreSQL server).
    store : str, optional
        Store of the movie columns (``<photon@STORE>``), any store configured in
        ``dj.config["stores"]``. Default: the configured default store (``active``).
        Only used when the schema's tables are declared for the first time.

    Returns
    -------
    Pipeline
        The same object for the same schema, connection and store.
    """
    global _active
    if connection is None:
        from ..db import connect

        connection = connect()
    # The design fixes one Recording row per TIFF file and one Trace row per ROI: their
    # keys extend the parent's, which DataJoint 2 allows for auto-populated tables only
    # with this switch.
    connection._config.jobs.allow_new_pk_fields_in_computed_tables = True
    once_per_roi_set_table()
    key = (id(connection), schema_name, store)
    with _lock:
        pipeline = _pipelines.get(key)
        if pipeline is None:
            with design_document_types_quiet():
                pipeline = Pipeline(dj.Schema(schema_name, connection=connection), store)
            _pipelines[key] = pipeline
        _active = pipeline
    return pipeline


def find(schema_name: str) -> Pipeline | None:
    """The pipeline activated last on a schema called ``schema_name`` (on any connection),
    or None when none was."""
    with _lock:
        found = [p for (_, name, _), p in _pipelines.items() if name == schema_name]
    if _active is not None and _active.database == schema_name:
        return _active
    return found[-1] if found else None


def active() -> Pipeline:
    """The pipeline activated last in this process.

    Raises
    ------
    NotActivated
        When :func:`activate` has not been called.
    """
    if _active is None:
        raise NotActivated()
    return _active


def is_activated() -> bool:
    """Whether :func:`activate` has been called in this process."""
    return _active is not None
