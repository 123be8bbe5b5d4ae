"""What every import of another tool's results shares: parameter sets and the insert.

An import makes, for one recording, a ``MotionParams`` and a ``RoiParams`` row of method
``imported`` that record where the results came from (made once per source and reused), the
``MotionCorrected`` row (the tool's registered movie through the recording's calibration,
and its shifts), the ``ROI`` row (the tool's masks, the stored movie's summary images and
the pipeline's metrics, image metrics included) and, when
the tool labelled its ROIs, a ``Curation``. All in one transaction: a refusal or a failure
leaves no row and no zarr. ``populate`` never computes an ``imported`` parameter set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..calibration import Calibration
from ..storage import Calibrated, remove_on_failure, write_options
from ._parameter_ids import insert_with_next_id
from ._progress import stage

__all__ = ["insert_imported", "recording_to_import"]


def recording_to_import(pipeline: Any, recording_key: dict, error: type[Exception]) -> dict:
    """The one ``Recording`` row ``recording_key`` selects; ``error`` otherwise."""
    rows = pipeline.Recording & recording_key
    if len(rows) != 1:
        raise error(f"{recording_key} selects {len(rows)} recordings; expected exactly one")
    return rows.fetch1()


def _parameter_set(table: Any, field: str, tool: str, source: Path) -> int:
    """The ``imported`` parameter set of ``source``, made the first time."""
    description = f"{tool} import: {source}"[:255]
    found = (table & {"method": "imported", "description": description}).proj().to_dicts()
    if found:
        return int(found[0][field])
    key = insert_with_next_id(table(), {"method": "imported",
                                         "params": {"imported_from": tool, "folder": str(source)},
                                         "description": description})
    return int(key[field])


def insert_imported(pipeline: Any, recording: dict, *, tool: str, source: Path,
                    movie: Any, calibration: Calibration, shift_y: np.ndarray,
                    shift_x: np.ndarray, found: Any, curation_note: str | None,
                    curator: str) -> dict:
    """Insert an imported motion correction, ROI set and, where labelled, curation.

    Parameters
    ----------
    pipeline : Pipeline
    recording : dict
        The ``Recording`` row the results are of.
    tool, source
        The tool's name and the file or folder imported; recorded in the parameter sets.
    movie : array-like (frames, height, width)
        The tool's registered movie, streamed into the ``<photon@>`` store.
    calibration : Calibration
        The movie's values in photons.
    shift_y, shift_x : ndarray (frames,)
        The shift applied to each frame (NaN where the tool did not record it).
    found : RoiSet
        The tool's ROIs.
    curation_note : str or None
        Where the tool labelled its ROIs, the note of the ``Curation`` made of
        ``found.labels``; None makes none.
    curator : str

    Returns
    -------
    dict
        The keys made: ``motion``, ``roi`` and ``curation`` (None without a note).
    """
    from ..rois import roi_metrics, summary_images

    key = {k: recording[k] for k in pipeline.Recording.primary_key}
    masks = found.masks()
    with remove_on_failure(), pipeline.schema.connection.transaction:
        motion_id = _parameter_set(pipeline.MotionParams, "motion_params_id", tool, source)
        roi_id = _parameter_set(pipeline.RoiParams, "roi_params_id", tool, source)
        motion_key = {**key, "motion_params_id": motion_id}
        with write_options(progress=stage(f"import {Path(source).name}")):
            pipeline.MotionCorrected.insert1(
                {**motion_key, "corrected_movie": Calibrated(movie, calibration),
                 "shift_x": np.asarray(shift_x, np.float32),
                 "shift_y": np.asarray(shift_y, np.float32)},
                allow_direct_insert=True)
        roi_key = {**motion_key, "roi_params_id": roi_id}
        # the summary images of the stored movie (this transaction sees its row): the
        # curate dock's backgrounds and the image metrics, as for a detected ROI set
        stored = (pipeline.MotionCorrected & motion_key).fetch1("corrected_movie")
        images = summary_images(stored, stored.frames_per_chunk,
                                progress=stage("summary images"))
        metrics = {**{k: np.asarray(v) for k, v in found.metrics.items()},
                   **roi_metrics(masks, images)}
        pipeline.ROI.insert1({**roi_key, "n_rois": len(masks), "roi_masks": masks,
                              "roi_metrics": metrics, "mean_image": images.mean,
                              "max_image": images.max,
                              "correlation_image": images.correlation},
                             allow_direct_insert=True)
    curation = None
    if curation_note is not None and len(masks):
        curation = pipeline.commit_curation(
            roi_key, masks, list(found.labels), ["detected"] * len(masks),
            [np.array([i]) for i in range(len(masks))], curator=curator,
            note=curation_note)
    return {"motion": motion_key, "roi": roi_key, "curation": curation}
