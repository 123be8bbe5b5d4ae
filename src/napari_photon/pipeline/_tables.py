"""The calcium-imaging schema: tables and their ``make`` methods.

The tables only wire algorithms (``napari_photon.motion``, ``rois``, ``traces``,
``calibration``) to storage; the science lives in those modules.
"""

from __future__ import annotations

import functools
from pathlib import Path

import datajoint as dj
import numpy as np

from .. import calibration, motion, rois, traces
from ..db import raw_root
from ..storage import Calibrated, PhotonTable, Stabilized, remove_on_failure, write_options
from ..storage import DryRunTable
from ._progress import cancel_check, stage
from ._tiff import TiffImportError, TiffMovie

schema = dj.Schema()


@schema
class Mouse(dj.Manual):
    definition = """
    mouse_id : varchar(32)            # e.g. M001
    ---
    date_of_birth=null : date
    sex='U' : enum('M', 'F', 'U')
    genotype='' : varchar(255)
    """


@schema
class Session(dj.Manual):
    definition = """
    -> Mouse
    session_date : date               # raw TIFFs live in <raw root>/<mouse_id>/<session_date>/
    ---
    experimenter='' : varchar(64)
    notes='' : varchar(1024)
    """


def session_folder(key: dict) -> Path:
    """Folder holding a session's TIFF stacks."""
    return raw_root() / str(key["mouse_id"]) / str(key["session_date"])


def session_files(key: dict) -> list[Path]:
    """The session's TIFF stacks, sorted; ``recording_num`` is the 1-based position here."""
    folder = session_folder(key)
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".tif", ".tiff"))
    if not files:
        raise TiffImportError(f"no TIFF stacks (*.tif, *.tiff) in {folder}")
    return files


def _stack_dimensions(key: dict) -> set:
    """What a session folder holds, from TIFF headers only: 3 and/or 4, or "problem"
    when a file cannot be read or the folder has no stacks (Recording reports those)."""
    try:
        files = session_files(key)
    except TiffImportError:
        return {"problem"}
    return {_file_dimensions(p, *_stamp(p)) for p in files}


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=4096)
def _file_dimensions(path: Path, mtime_ns: int, size: int) -> int | str:
    """3 or 4 for a readable stack, "problem" otherwise (cached until the file changes)."""
    try:
        with TiffMovie.open(path) as tiff:
            return tiff.ndim
    except TiffImportError:
        return "problem"


def _sessions_holding(predicate) -> list[dict]:
    return [key for key in Session.keys() if predicate(_stack_dimensions(key))]


def _import(table, key: dict, ndim: int) -> None:
    """Insert one row per ``ndim``-dimensional TIFF stack of the session."""
    rows = 0
    with remove_on_failure():
        for number, path in enumerate(session_files(key), start=1):
            with TiffMovie.open(path) as tiff:
                if tiff.ndim != ndim:
                    continue
                cal = tiff.calibration
                source = "tiff"
                if cal is None:
                    cal = calibration.estimate(tiff.array, progress=stage(f"calibrate {path.name}"))
                    source = "estimated"
                row = dict(
                    key,
                    recording_num=number,
                    movie=Calibrated(tiff.array, cal),
                    frame_rate=tiff.frame_rate,
                    n_frames=tiff.shape[0],
                    height=tiff.shape[-2],
                    width=tiff.shape[-1],
                    source_file=str(path),
                    calibration=cal.to_dict(),
                    calibration_source=source,
                )
                if ndim == 4:
                    row.update(n_planes=tiff.shape[1], plane_spacing=tiff.plane_spacing)
                with write_options(progress=stage(f"import {path.name}"), cancel=cancel_check()):
                    table.insert1(row)
                rows += 1


@schema
class Recording(PhotonTable, dj.Imported):
    definition = """
    -> Session
    recording_num : int32             # position of the TIFF in the session folder, from 1
    ---
    movie : <photon@>                 # variance-stabilized movie, (t, y, x)
    frame_rate=null : float64         # Hz, from TIFF metadata when recorded
    n_frames : int32
    height : int32
    width : int32
    source_file : varchar(1024)
    calibration : json                # gain (levels/photon), zero_level, read_noise (levels)
    calibration_source : enum('tiff', 'estimated')
    """

    @property
    def key_source(self):
        """Sessions, except those whose folder holds only volumes (VolumeRecording's)."""
        return Session - _sessions_holding(lambda dims: dims == {4})

    def make(self, key):
        _import(self, key, ndim=3)


@schema
class VolumeRecording(PhotonTable, dj.Imported):
    definition = """
    -> Session
    recording_num : int32
    ---
    movie : <photon@>                 # variance-stabilized volume movie, (t, z, y, x)
    n_planes : int32
    plane_spacing=null : float64      # distance between planes (microns), from TIFF metadata
    frame_rate=null : float64         # volumes per second
    n_frames : int32
    height : int32
    width : int32
    source_file : varchar(1024)
    calibration : json
    calibration_source : enum('tiff', 'estimated')
    """

    @property
    def key_source(self):
        """Sessions whose folder holds at least one (t, z, y, x) stack."""
        return Session & _sessions_holding(lambda dims: 4 in dims)

    def make(self, key):
        _import(self, key, ndim=4)


@schema
class MotionParams(dj.Lookup):
    definition = """
    motion_params_id : int32
    ---
    method : enum('rigid', 'piecewise')
    params : json                     # keyword arguments of motion.estimate_motion
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
    definition = """
    -> Recording
    -> MotionParams
    ---
    corrected_movie : <photon@>       # registered, variance-stabilized movie
    shift_x : <blob>                  # (n_frames,) px applied to each frame to align it
    shift_y : <blob>                  # (n_frames,) px
    reference_image : <blob>          # (height, width) image the frames were aligned to
    tile_shifts=null : <blob>         # piecewise: (n_frames, ny, nx, 2) shifts at tile centres
    correlation_before : <blob>       # (n_frames,) each raw frame's correlation to the reference
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

    def make(self, key):
        movie = (Recording & key).fetch1("movie")
        method, params = (MotionParams & key).fetch1("method", "params")
        estimate = motion.estimate_motion(
            movie,
            method=method,
            **params,
            frames_per_chunk=movie.frames_per_chunk,
            progress=stage("motion estimation"),
        )
        quality = motion.QualityAccumulator(movie.shape)  # fed while the insert streams
        corrected = motion.CorrectedMovie(movie, estimate, quality=quality)
        source_dtype = movie.metadata.get("source_dtype", "uint16")
        with remove_on_failure():
            with write_options(progress=stage("motion correction"), cancel=cancel_check()):
                self.insert1(
                    dict(
                        key,
                        corrected_movie=Stabilized(corrected, movie.calibration, source_dtype),
                        shift_y=estimate.shifts[:, 0],
                        shift_x=estimate.shifts[:, 1],
                        reference_image=estimate.reference,
                        tile_shifts=estimate.tile_shifts,
                        correlation_before=estimate.correlation_before,
                    )
                )
            self.QC.insert1(dict(key, **quality.result().to_dict()))


@schema
class RoiParams(dj.Lookup):
    definition = """
    roi_params_id : int32
    ---
    method : enum('activity', 'correlation', 'anatomical')
    params : json                     # keyword arguments of rois.detect_rois
    description='' : varchar(255)
    """
    contents = [
        {
            "roi_params_id": 1,
            "method": "activity",
            "params": {},
            "description": "activity with anatomical rescue, defaults",
        }
    ]


@schema
class ROI(DryRunTable, dj.Computed):
    definition = """
    -> MotionCorrected
    -> RoiParams
    ---
    n_rois : int32
    roi_masks : <blob>                # (n_rois, height, width) bool; ROI i has roi_id i + 1
    roi_metrics : <blob>              # dict of (n_rois,) arrays: area, compactness, snr, skew...
    mean_image : <blob>
    max_image : <blob>
    correlation_image : <blob>
    """

    def make(self, key):
        movie = (MotionCorrected & key).fetch1("corrected_movie")
        method, params = (RoiParams & key).fetch1("method", "params")
        shift_x, shift_y = (MotionCorrected & key).fetch1("shift_x", "shift_y")
        # frames were moved by up to this much: the band along the edges holds filled-in
        # pixels, not tissue, and must not seed ROIs
        moved = float(np.nanmax(np.abs(np.r_[shift_x, shift_y, 0.0])))
        params = {"border": int(np.ceil(moved)) + 1, **params}
        found = rois.detect_rois(
            movie,
            method=method,
            **params,
            frames_per_chunk=movie.frames_per_chunk,
            progress=stage("ROI detection"),
        )
        self.insert1(
            dict(
                key,
                n_rois=len(found.masks),
                roi_masks=found.masks,
                roi_metrics={k: np.asarray(v) for k, v in found.metrics.items()},
                mean_image=found.images.mean,
                max_image=found.images.max,
                correlation_image=found.images.correlation,
            )
        )


@schema
class Trace(DryRunTable, dj.Computed):
    definition = """
    -> ROI
    roi_id : int32                    # 1-based index into ROI.roi_masks
    ---
    fluorescence : <blob>             # (n_frames,) float32 mean photons per pixel in the ROI
    neuropil : <blob>                 # (n_frames,) mean photons per pixel in its annulus
    dff : <blob>                      # (n_frames,) dF/F of the neuropil-corrected fluorescence
    """

    @property
    def key_source(self):
        """ROI sets with at least one ROI (an empty set has no traces to wait for)."""
        return ROI & "n_rois > 0"

    def make(self, key):
        movie = (MotionCorrected & key).fetch1("corrected_movie")
        masks = (ROI & key).fetch1("roi_masks")
        result = traces.extract_all(
            movie.photons("algebraic"),
            masks,
            frames_per_chunk=movie.frames_per_chunk,
            progress=stage("traces"),
        )
        self.insert(
            [
                dict(key, roi_id=i + 1, fluorescence=f, neuropil=n, dff=d)
                for i, (f, n, d) in enumerate(
                    zip(result.fluorescence, result.neuropil, result.dff)
                )
            ]
        )


TABLES = (Mouse, Session, Recording, VolumeRecording, MotionParams, MotionCorrected)
TABLES += (RoiParams, ROI, Trace)
COMPUTED = (Recording, VolumeRecording, MotionCorrected, ROI, Trace)
