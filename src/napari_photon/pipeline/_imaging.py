"""``Recording`` and ``VolumeRecording``: TIFF stacks imported into ``<photon@>`` columns."""

from __future__ import annotations

import functools
from pathlib import Path

import datajoint as dj

from .. import calibration
from ..io import TiffImportError, TiffMovie
from ..storage import Calibrated, PhotonTable, remove_on_failure, write_options
from ._progress import cancel_check, stage
from ._subjects import session_folder


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


def _sessions_holding(session: type, predicate) -> list[dict]:
    return [key for key in session.keys() if predicate(_stack_dimensions(key))]


def _import(table: dj.Table, key: dict, movie_field: str, ndim: int) -> None:
    """Insert one row per ``ndim``-dimensional TIFF stack of the session."""
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
                row = {
                    **key,
                    "recording_num": number,
                    movie_field: Calibrated(tiff.array, cal),
                    "frame_rate": tiff.frame_rate,
                    "n_frames": tiff.shape[0],
                    "height": tiff.shape[-2],
                    "width": tiff.shape[-1],
                    "source_file": str(path),
                    "calibration": cal.to_dict(),
                    "calibration_source": source,
                }
                if ndim == 4:
                    row.update(n_planes=tiff.shape[1], plane_spacing=tiff.plane_spacing)
                with write_options(progress=stage(f"import {path.name}"), cancel=cancel_check()):
                    table.insert1(row)


def declare_imaging(schema: dj.Schema, upstream: dict[str, type], movie: str) -> dict[str, type]:
    """Declare ``Recording`` and ``VolumeRecording`` in ``schema``.

    Parameters
    ----------
    schema : datajoint.Schema
    upstream : dict
        The tables declared before (``Session``).
    movie : str
        The movies' column type, e.g. ``"<photon@>"`` (the default store) or
        ``"<photon@imaging>"``.
    """
    Session = upstream["Session"]  # noqa: N806 - resolves "-> Session" in the definitions

    @schema
    class Recording(PhotonTable, dj.Imported):
        definition = f"""
        -> Session
        recording_num : int           # position of the TIFF in the session folder, from 1
        ---
        raw_movie : {movie}    # variance-stabilized movie, (t, y, x)
        frame_rate=null : float       # Hz, from the TIFF's metadata when it has one
        width : int                   # pixels
        height : int                  # pixels
        n_frames : int
        # added:
        source_file='' : varchar(1024)
        calibration=null : json       # gain (levels/photon), zero_level, read_noise (levels)
        calibration_source='given' : enum('tiff', 'estimated', 'given')
        """

        @property
        def key_source(self):
            """Sessions, except those whose folder holds only volumes (VolumeRecording's)."""
            return Session - _sessions_holding(Session, lambda dims: dims == {4})

        def make(self, key):
            _import(self, key, "raw_movie", ndim=3)

    @schema
    class VolumeRecording(PhotonTable, dj.Imported):
        definition = f"""
        -> Session
        recording_num : int
        ---
        volume_movie : {movie}    # 4D: (time, z, height, width), variance-stabilized
        n_planes : int
        plane_spacing=null : float    # microns, from the TIFF's metadata when it has one
        # added:
        frame_rate=null : float       # volumes per second
        n_frames=null : int
        height=null : int
        width=null : int
        source_file='' : varchar(1024)
        calibration=null : json
        calibration_source='given' : enum('tiff', 'estimated', 'given')
        """

        @property
        def key_source(self):
            """Sessions whose folder holds at least one (t, z, y, x) stack."""
            return Session & _sessions_holding(Session, lambda dims: 4 in dims)

        def make(self, key):
            _import(self, key, "volume_movie", ndim=4)

    return {"Recording": Recording, "VolumeRecording": VolumeRecording}
