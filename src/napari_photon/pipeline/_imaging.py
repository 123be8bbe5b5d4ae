"""``Recording`` and ``VolumeRecording``: TIFF stacks and ScanImage acquisitions imported
into ``<photon@>`` columns (see :mod:`._acquisitions` for what becomes a row)."""

from __future__ import annotations

import datajoint as dj

from .. import calibration
from ..io import TiffImportError
from ..storage import Calibrated, PhotonTable, remove_on_failure, write_options
from ._acquisitions import dimensions, open_acquisition, session_acquisitions
from ._progress import cancel_check, stage


def _stack_dimensions(key: dict) -> set:
    """What a session folder holds: 3 and/or 4, or "problem" when an acquisition cannot
    be read or the folder has none (Recording reports those)."""
    try:
        acquisitions = session_acquisitions(key)
    except TiffImportError:
        return {"problem"}
    return {dimensions(a) for a in acquisitions}


def _sessions_holding(session: type, predicate) -> list[dict]:
    return [key for key in session.keys() if predicate(_stack_dimensions(key))]


def _import(table: dj.Table, key: dict, movie_field: str, ndim: int) -> None:
    """Insert one row per ``ndim``-dimensional acquisition of the session (a plain TIFF
    stack, or a channel of a ScanImage acquisition)."""
    with remove_on_failure():
        for acquisition in session_acquisitions(key):
            with open_acquisition(acquisition) as movie:
                if movie.ndim != ndim:
                    continue
                name = acquisition.name
                cal = movie.calibration
                source = "tiff"
                if cal is None:
                    cal = calibration.estimate(movie.array, progress=stage(f"calibrate {name}"))
                    source = "estimated"
                shape = movie.array.shape
                row = {
                    **key,
                    "recording_num": acquisition.number,
                    movie_field: Calibrated(movie.array, cal),
                    "frame_rate": movie.frame_rate,
                    "n_frames": shape[0],
                    "height": shape[-2],
                    "width": shape[-1],
                    "source_file": ";".join(str(f) for f in acquisition.files),
                    "calibration": cal.to_dict(),
                    "calibration_source": source,
                    "channel": acquisition.channel,
                    "functional": acquisition.functional,
                    "zoom": movie.zoom,
                    "pixel_size": movie.pixel_size,
                }
                if ndim == 4:
                    row.update(n_planes=shape[1], plane_spacing=movie.plane_spacing)
                with write_options(progress=stage(f"import {name}"), cancel=cancel_check()):
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
        recording_num : int           # position of the acquisition in the session folder, from 1
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
        channel=null : int16          # ScanImage channel; null for a plain TIFF stack
        functional=1 : bool           # the channel processed downstream
        zoom=null : float             # ScanImage's zoom factor
        pixel_size=null : float       # microns per pixel, from ScanImage's field of view
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
        channel=null : int16          # ScanImage channel; null for a plain TIFF stack
        functional=1 : bool           # the channel that is processed
        zoom=null : float             # ScanImage's zoom factor
        pixel_size=null : float       # microns per pixel, from ScanImage's field of view
        """

        @property
        def key_source(self):
            """Sessions whose folder holds at least one (t, z, y, x) stack."""
            return Session & _sessions_holding(Session, lambda dims: 4 in dims)

        def make(self, key):
            _import(self, key, "volume_movie", ndim=4)

    return {"Recording": Recording, "VolumeRecording": VolumeRecording}
