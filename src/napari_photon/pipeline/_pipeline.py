"""The calcium-imaging pipeline declared in one database schema, as one object."""

from __future__ import annotations

from typing import Any

import datajoint as dj

from ..storage import collect_garbage
from . import _commit, _counts, _jobs, _orphans, _populate, _report, _tiers, _worker
from ._activity import declare_activity
from ._curation import declare_curation
from ._imaging import declare_imaging
from ._processing import declare_processing
from ._subjects import declare_subjects, session_folder

#: the auto-populated tables, in dependency order
COMPUTED_NAMES = (
    "Recording",
    "VolumeRecording",
    "MotionCorrected",
    "ROI",
    "Trace",
    "Activity",
    "CuratedTrace",
)


class Pipeline:
    """The design document's tables (and the project's beside them) in one schema.

    Made by :func:`napari_photon.pipeline.activate`; several pipelines, on several schemas
    or servers, live side by side in one process, each with its own table classes.

    Attributes
    ----------
    Mouse, Session, Recording, VolumeRecording, MotionParams, MotionCorrected, RoiParams, ROI, Trace
        The table classes, bound to :attr:`schema`.
    ActivityParams, Activity
        Deconvolved events of each ROI's dF/F (``Activity.Trace``, one row per ROI).
    Curation, CuratedTrace
        Curated versions of ROI sets (:meth:`commit_curation` writes them) and their traces.
    schema : datajoint.Schema
    store : str or None
        The store of the ``<photon@...>`` columns; None for the configured default store.

    Example
    -------
    >>> lab = pipeline.activate("lab_a")
    >>> lab.Mouse.insert1({"mouse_id": 1, "strain": "C57BL/6J", "sex": "M"})
    >>> lab.populate()
    """

    Mouse: Any
    Session: Any
    Recording: Any
    VolumeRecording: Any
    MotionParams: Any
    MotionCorrected: Any
    RoiParams: Any
    ROI: Any
    Trace: Any
    ActivityParams: Any
    Activity: Any
    Curation: Any
    CuratedTrace: Any

    def __init__(self, schema: dj.Schema, store: str | None = None) -> None:
        movie = f"<photon@{store or ''}>"
        tables = declare_subjects(schema)
        tables |= declare_imaging(schema, tables, movie)
        tables |= declare_processing(schema, tables, movie)
        tables |= declare_activity(schema, tables)
        tables |= declare_curation(schema, tables)
        self.schema = schema
        self.store = store
        self._tables = tables
        for name, table in tables.items():
            setattr(self, name, table)

    def __repr__(self) -> str:
        where = f", store={self.store!r}" if self.store else ""
        return f"Pipeline({self.database!r}{where})"

    @property
    def database(self) -> str:
        """The database schema's name."""
        return self.schema.database

    @property
    def connection(self) -> Any:
        """The DataJoint connection the tables use."""
        return self.schema.connection

    @property
    def tables(self) -> tuple[type, ...]:
        """Every table class, in dependency order."""
        return tuple(self._tables.values())

    @property
    def computed(self) -> tuple[type, ...]:
        """The auto-populated (Imported, Computed) tables, in dependency order."""
        return tuple(self._tables[name] for name in COMPUTED_NAMES)

    def table(self, name: str) -> type:
        """The table class called ``name`` (e.g. ``"ROI"``).

        Raises
        ------
        ValueError
            When the pipeline has no such table; the message lists those it has.
        """
        try:
            return self._tables[name]
        except KeyError:
            raise ValueError(
                f"{name!r} is not a table of the pipeline; choose from {sorted(self._tables)}"
            ) from None

    def collect_garbage(self, **options: Any) -> dict:
        """Remove the zarrs no row of this schema references (see
        :func:`napari_photon.storage.collect_garbage` for ``dry_run`` and ``min_age``)."""
        return collect_garbage(self.schema, **options)

    move_movies = _tiers.move_movies
    verify_movies = _tiers.verify_movies
    session_folder = staticmethod(session_folder)
    table_counts = staticmethod(_counts.table_counts)
    populate = _populate.populate
    run_populate = _jobs.run_populate
    retry_failed = _jobs.retry_failed
    job_counts = _counts.job_counts
    failed_keys = _counts.failed_keys
    auto_tables = _counts.auto_tables
    stored_movies = _report.stored_movies
    commit_curation = _commit.commit_curation
    release_orphans = _orphans.release_pipeline_orphans
    run_worker = _worker.run_worker
