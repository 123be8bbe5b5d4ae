"""Photon zarr folders on disk, without a database: save and open."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..anscombe import generalized_anscombe
from ..calibration import Calibration
from ._location import ZarrLocation
from ._movie import PhotonMovie
from ._options import current_write_options
from ._source import MovieSource
from ._writer import ATTRS_KEY, write_movie

LEGACY_CODEC_ID = "anscombe-v1"


class NotAPhotonZarr(ValueError):
    """The folder is not a zarr array this package can read as a photon movie."""


def save_movie(path: str | Path, value: object) -> PhotonMovie:
    """Store ``value`` (anything a ``<photon@>`` column takes) as a zarr folder at ``path``.

    Uses the ambient :func:`write_options` (progress, cancel, chunk budget).
    """
    location = ZarrLocation.local(path)
    write_movie(location, MovieSource(value), current_write_options())
    return open_movie(location.local_path)


def open_movie(path: str | Path) -> PhotonMovie:
    """Open a photon movie stored as a zarr folder.

    Reads arrays written by ``<photon@>`` (zarr v3 with this package's attributes) and zarr
    v2 arrays compressed with the ``anscombe-v1`` codec of PyPI ``anscombe-transform``
    (their decoded levels are re-stabilized with the recorded calibration).

    Raises
    ------
    NotAPhotonZarr
        When ``path`` is not such a folder; the message says what was found.
    """
    folder = Path(path)
    if (folder / "zarr.json").is_file():
        meta = json.loads((folder / "zarr.json").read_text())
        attrs = meta.get("attributes", {}).get(ATTRS_KEY)
        if meta.get("node_type") != "array" or attrs is None:
            raise NotAPhotonZarr(
                f"{folder} is a zarr v3 {meta.get('node_type', 'node')} without "
                f"'{ATTRS_KEY}' attributes: not written by <photon@>"
            )
        return PhotonMovie(ZarrLocation.local(folder), {**attrs, "shape": meta["shape"]})
    if (folder / ".zarray").is_file():
        return _open_legacy(folder)
    raise NotAPhotonZarr(f"{folder} is not a zarr array folder (no zarr.json or .zarray)")


def legacy_calibration(zarray: dict) -> Calibration:
    """Calibration recorded by ``anscombe-v1`` in a zarr v2 ``.zarray``."""
    codecs = [zarray.get("compressor") or {}, *(zarray.get("filters") or [])]
    for codec in codecs:
        if codec.get("id") == LEGACY_CODEC_ID:
            return Calibration(
                gain=float(codec["conversion_gain"]), zero_level=float(codec["zero_level"])
            )
    raise NotAPhotonZarr(f"no {LEGACY_CODEC_ID} codec in this zarr v2 array")


class _LegacyStabilize:
    """Digitizer levels of an ``anscombe-v1`` movie to stabilized values.

    Pickled by its calibration: unpickling (on a dask.distributed worker, which reopens the
    zarr itself) registers the ``anscombe-v1`` codec first, as opening the movie here did.
    """

    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration

    def __call__(self, levels: np.ndarray) -> np.ndarray:
        return generalized_anscombe(
            levels, gain=self.calibration.gain, offset=self.calibration.zero_level, sigma=0.0
        )

    def __reduce__(self) -> tuple:
        return (_legacy_stabilize, (self.calibration,))


def _legacy_stabilize(calibration: Calibration) -> _LegacyStabilize:
    import anscombe_transform  # noqa: F401  (registers the anscombe-v1 codec with numcodecs)

    return _LegacyStabilize(calibration)


def _open_legacy(folder: Path) -> PhotonMovie:
    zarray = json.loads((folder / ".zarray").read_text())
    calibration = legacy_calibration(zarray)
    metadata = {
        "shape": zarray["shape"],
        "calibration": calibration.to_dict(),
        "source_dtype": np.dtype(zarray["dtype"]).name,
        "frames_per_shard": zarray["chunks"][0],
        "codec": LEGACY_CODEC_ID,
    }
    return PhotonMovie(ZarrLocation.local(folder), metadata,
                       transform=_legacy_stabilize(calibration))
