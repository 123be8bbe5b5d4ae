"""``MotionCorrected``, ``ROI`` and ``Trace`` with their parameter sets.

The ``make`` methods only wire the algorithms (``motion``, ``rois``, ``traces``) to the
tables; the science lives in those modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import datajoint as dj
import numpy as np

from .. import motion, rois, traces
from .._frames import work_frames
from ..storage import DryRunTable, PhotonTable, Stabilized, remove_on_failure, write_options
from ._cluster import cluster_client
from ._progress import cancel_check, stage


def _border(shift_x: np.ndarray, shift_y: np.ndarray) -> int:
    """Pixels along the edges that registration filled in rather than took from tissue."""
    moved = float(np.nanmax(np.abs(np.r_[shift_x, shift_y, 0.0])))
    return int(np.ceil(moved)) + 1


def trace_rows(
    key: dict, corrected: Any, masks: np.ndarray, roi_ids: Sequence[int] | None = None
) -> list[dict]:
    """``Trace``-style rows of every mask's traces in the corrected movie.

    The one extraction behind ``Trace`` and ``CuratedTrace``: fluorescence, neuropil and
    dF/F from :func:`napari_photon.traces.extract_all` on the movie's photons.

    Parameters
    ----------
    key : dict
        Put into every row.
    corrected : PhotonMovie
        ``MotionCorrected.corrected_movie`` of the key.
    masks : ndarray of bool, shape (n, height, width)
    roi_ids : sequence of int, optional
        The ``roi_id`` of each mask; default ``0 .. n - 1``.
    """
    result = traces.extract_all(
        corrected.photons("algebraic"),
        masks,
        frames_per_chunk=work_frames(corrected.frames_per_chunk),
        progress=stage("traces"),
        client=cluster_client(),
    )
    ids = range(len(masks)) if roi_ids is None else roi_ids
    return [
        {**key, "roi_id": int(roi_id), "fluorescence": f, "neuropil": n, "dff": d,
         "neuropil_coefficient": float(c)}
        for roi_id, f, n, d, c in zip(ids, result.fluorescence, result.neuropil, result.dff,
                                      result.coefficients)
    ]


def declare_processing(schema: dj.Schema, upstream: dict[str, type], movie: str) -> dict[str, type]:
    """Declare the parameter tables, ``MotionCorrected``, ``ROI`` and ``Trace`` in ``schema``.

    Parameters
    ----------
    schema : datajoint.Schema
    upstream : dict
        The tables declared before (``Recording``).
    movie : str
        The movies' column type, e.g. ``"<photon@>"``.
    """
    Recording = upstream["Recording"]  # noqa: N806 - resolves "-> Recording"

    @schema
    class MotionParams(dj.Lookup):
        definition = """
        motion_params_id : int32
        ---
        method : enum('rigid', 'piecewise', 'imported')  # imported: made elsewhere (suite2p)
        params : json                 # keyword arguments of motion.estimate_motion
        description='' : varchar(255)
        """
        contents = [
            {
                "motion_params_id": 1,
                "method": "rigid",
                "params": {},
                "description": "rigid, defaults",
            }
        ]

    @schema
    class MotionCorrected(PhotonTable, dj.Computed):
        definition = f"""
        -> Recording
        -> MotionParams
        ---
        corrected_movie : {movie}    # registered, variance-stabilized movie
        shift_x : <blob>              # X shifts per frame: px applied to each frame
        shift_y : <blob>              # Y shifts per frame
        # added:
        reference_image=null : <blob> # (height, width) image the frames were aligned to
        tile_shifts=null : <blob>     # piecewise: (n_frames, ny, nx, 2) shifts at tile centres
        correlation_before=null : <blob>  # (n_frames,) raw frames' correlation to the reference
        """

        class QC(DryRunTable, dj.Part):
            definition = """
            # registration quality, known once the corrected movie has streamed to the store
            -> master
            ---
            correlation_after : <blob>    # (n_frames,) correlation to the reference after correction
            mean_image : <blob>           # mean projection of the corrected movie
            max_image : <blob>            # max projection of the corrected movie
            """

        @property
        def key_source(self):
            """The functional channel's recordings (every plain TIFF stack is one), with
            every motion parameter set that is computed here (not ``imported``)."""
            computed = MotionParams - {"method": "imported"}  # imports are inserted, not made
            return (Recording & {"functional": True}).proj() * computed.proj()

        def make(self, key):
            raw = (Recording & key).fetch1("raw_movie")
            method, params = (MotionParams & key).fetch1("method", "params")
            estimate = motion.estimate_motion(
                raw,
                method=method,
                **params,
                frames_per_chunk=work_frames(raw.frames_per_chunk),
                progress=stage("motion estimation"),
                client=cluster_client(),
            )
            quality = motion.QualityAccumulator(raw.shape)  # fed while the insert streams
            corrected = motion.CorrectedMovie(raw, estimate, quality=quality)
            source_dtype = raw.metadata.get("source_dtype", "uint16")
            with remove_on_failure():
                with write_options(progress=stage("motion correction"), cancel=cancel_check()):
                    self.insert1(
                        {
                            **key,
                            "corrected_movie": Stabilized(corrected, raw.calibration, source_dtype),
                            "shift_y": estimate.shifts[:, 0],
                            "shift_x": estimate.shifts[:, 1],
                            "reference_image": estimate.reference,
                            "tile_shifts": estimate.tile_shifts,
                            "correlation_before": estimate.correlation_before,
                        }
                    )
                self.QC.insert1({**key, **quality.result().to_dict()})

    @schema
    class RoiParams(dj.Lookup):
        definition = """
        roi_params_id : int32
        ---
        method : enum('auto', 'sparse', 'activity', 'correlation', 'anatomical', 'imported')
        params : json                 # keyword arguments of rois.detect_rois
        description='' : varchar(255)
        """
        contents = [
            {
                "roi_params_id": 1,
                "method": "auto",
                "params": {},
                "description": "sparse activity (correlation under 500 frames); defaults",
            },
        ]

    @schema
    class ROI(DryRunTable, dj.Computed):
        definition = """
        -> MotionCorrected
        -> RoiParams
        ---
        n_rois : int
        roi_masks : <blob>            # Binary masks (n_rois, height, width); roi_id i is masks[i]
        # added:
        roi_metrics=null : <blob>     # dict of (n_rois,) arrays: area, compactness, snr, skew...
        mean_image=null : <blob>
        max_image=null : <blob>
        correlation_image=null : <blob>
        """

        @property
        def key_source(self):
            """Every motion-corrected movie with every ROI parameter set that is computed
            here (not ``imported``)."""
            return MotionCorrected.proj() * (RoiParams - {"method": "imported"}).proj()

        def make(self, key):
            corrected = (MotionCorrected & key).fetch1("corrected_movie")
            method, params = (RoiParams & key).fetch1("method", "params")
            shift_x, shift_y = (MotionCorrected & key).fetch1("shift_x", "shift_y")
            params = {"border": _border(shift_x, shift_y), **params}
            found = rois.detect_rois(
                corrected,
                method=method,
                **params,
                frames_per_chunk=work_frames(corrected.frames_per_chunk),
                progress=stage("ROI detection"),
                client=cluster_client(),
            )
            self.insert1(
                {
                    **key,
                    "n_rois": len(found.masks),
                    "roi_masks": found.masks,
                    "roi_metrics": {k: np.asarray(v) for k, v in found.metrics.items()},
                    "mean_image": found.images.mean,
                    "max_image": found.images.max,
                    "correlation_image": found.images.correlation,
                }
            )

    @schema
    class Trace(DryRunTable, dj.Computed):
        definition = """
        -> ROI
        roi_id : int                  # index into ROI.roi_masks, from 0 (as enumerate gives)
        ---
        fluorescence : <blob>         # Raw fluorescence trace: mean photons per pixel in the ROI
        # added:
        neuropil=null : <blob>        # (n_frames,) mean photons per pixel in its annulus
        dff=null : <blob>             # (n_frames,) dF/F of the neuropil-corrected fluorescence
        neuropil_coefficient=null : float32  # c of F - c * neuropil, estimated for this ROI
        """

        @property
        def key_source(self):
            """ROI sets with at least one ROI (an empty set has no traces to wait for)."""
            return ROI & "n_rois > 0"

        def make(self, key):
            corrected = (MotionCorrected & key).fetch1("corrected_movie")
            masks = (ROI & key).fetch1("roi_masks")
            self.insert(trace_rows(key, corrected, masks))

    return {
        "MotionParams": MotionParams,
        "MotionCorrected": MotionCorrected,
        "RoiParams": RoiParams,
        "ROI": ROI,
        "Trace": Trace,
    }
