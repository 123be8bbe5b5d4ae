"""The calcium-imaging pipeline of the design document: tables, activation, populate.

:func:`activate` returns a :class:`Pipeline` per database schema; several live side by
side in one process. The module-level table names and functions refer to the pipeline
activated last, so the design document's style still reads.

Example
-------
>>> from napari_photon import pipeline
>>> pipeline.activate("calcium_imaging")
>>> pipeline.Mouse.insert1({"mouse_id": 1, "strain": "C57BL/6J", "sex": "M"})
>>> pipeline.Session.insert1({"mouse_id": 1, "session_date": "2024-01-15",
...                           "experimenter": "Jane Doe", "notes": "Baseline recording"})
>>> pipeline.Recording.populate({"mouse_id": 1, "session_date": "2024-01-15"})
>>> pipeline.populate()                     # MotionCorrected, ROI, Trace, ...
>>> traces = (pipeline.Trace & {"mouse_id": 1}).fetch("fluorescence")
"""

from typing import Any

from ._activate import DEFAULT_SCHEMA, NotActivated, activate, active, find, is_activated
from ._child_runner import PopulateProcessError
from ._cluster import cluster_client, using_cluster
from ._commit import CurationError
from ._counts import FailedKey, TableCounts, table_counts
from ._pipeline import COMPUTED_NAMES, Pipeline
from ._populate import PopulateResult
from ._protocol import PopulateEvent
from ._progress import reporting
from ._report import StoredMovie
from ._subjects import session_folder
from ..storage import collect_garbage

#: names that resolve to the active pipeline's attribute (``pipeline.Mouse`` is
#: ``pipeline.active().Mouse``)
_ACTIVE_ATTRIBUTES = frozenset(
    {
        "Mouse",
        "Session",
        "Recording",
        "VolumeRecording",
        "MotionParams",
        "MotionCorrected",
        "RoiParams",
        "ROI",
        "Trace",
        "ActivityParams",
        "Activity",
        "Curation",
        "CuratedTrace",
        "commit_curation",
        "populate",
        "run_populate",
        "retry_failed",
        "job_counts",
        "failed_keys",
        "auto_tables",
        "release_orphans",
        "run_worker",
        "stored_movies",
        "tables",
        "computed",
    }
)


def __getattr__(name: str) -> Any:
    if name in _ACTIVE_ATTRIBUTES:
        if not is_activated():
            raise NotActivated(f"pipeline.{name}")
        return getattr(active(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_ACTIVE_ATTRIBUTES})


__all__ = [
    "COMPUTED_NAMES",
    "CurationError",
    "DEFAULT_SCHEMA",
    "FailedKey",
    "NotActivated",
    "Pipeline",
    "PopulateEvent",
    "PopulateProcessError",
    "PopulateResult",
    "StoredMovie",
    "TableCounts",
    "activate",
    "active",
    "cluster_client",
    "collect_garbage",
    "find",
    "is_activated",
    "reporting",
    "session_folder",
    "table_counts",
    "using_cluster",
]
