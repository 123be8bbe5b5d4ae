"""The calcium-imaging pipeline: tables, activation and populate helpers.

Example
-------
>>> from napari_photon import pipeline
>>> pipeline.activate("calcium_imaging")
>>> pipeline.Mouse.insert1({"mouse_id": "M001"})
>>> pipeline.Session.insert1({"mouse_id": "M001", "session_date": "2026-11-25"})
>>> pipeline.populate()
>>> rows = (pipeline.Trace & {"mouse_id": "M001"}).to_dicts()
"""

from ._activate import DEFAULT_SCHEMA, activate, current_schema
from ._populate import populate
from ._jobs import (
    FailedKey,
    PopulateEvent,
    TableCounts,
    failed_keys,
    job_counts,
    retry_failed,
    run_populate,
    table_counts,
)
from ._progress import reporting
from ._child_process import PopulateProcessError
from ..storage import collect_garbage
from ._tables import (
    COMPUTED,
    ROI,
    TABLES,
    MotionCorrected,
    MotionParams,
    Mouse,
    Recording,
    RoiParams,
    Session,
    Trace,
    VolumeRecording,
    session_folder,
)
from ._tiff import TiffImportError, TiffMovie

__all__ = [
    "FailedKey",
    "PopulateEvent",
    "PopulateProcessError",
    "TableCounts",
    "failed_keys",
    "job_counts",
    "retry_failed",
    "run_populate",
    "table_counts",
    "COMPUTED",
    "DEFAULT_SCHEMA",
    "ROI",
    "TABLES",
    "MotionCorrected",
    "MotionParams",
    "Mouse",
    "Recording",
    "RoiParams",
    "Session",
    "TiffImportError",
    "TiffMovie",
    "Trace",
    "VolumeRecording",
    "activate",
    "collect_garbage",
    "populate",
    "reporting",
    "current_schema",
    "session_folder",
]
