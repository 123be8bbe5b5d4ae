"""TIFF stacks as lazily paged movies, with the metadata the pipeline records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import zarr

from .._frames import Frames, frames_per_block, index_frames
from ..calibration import Calibration

CALIBRATION_PROPERTY = "napari_photon.calibration."


class TiffImportError(ValueError):
    """A TIFF stack cannot be imported; the message names the file and the problem."""


@dataclass
class TiffMovie(Frames):
    """A TIFF stack opened for streaming: pages are read only when sliced (a
    :class:`~napari_photon._frames.FrameSource` of the stored values, e.g. uint16 levels).

    Use :meth:`open`; the object keeps the file open until :meth:`close` (or ``with``).

    Attributes
    ----------
    path : Path
    shape : tuple of int
        (t, y, x) or (t, z, y, x).
    dtype : numpy.dtype
    frame_rate : float or None
        Frames (volumes) per second, from ImageJ ``finterval`` or ScanImage metadata.
    plane_spacing : float or None
        Distance between planes (ImageJ ``spacing``), for volumes.
    calibration : Calibration or None
        Recorded in the file (ImageJ properties ``napari_photon.calibration.*``), if any.
    """

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    frame_rate: float | None = None
    plane_spacing: float | None = None
    calibration: Calibration | None = None
    _array: Any = field(default=None, repr=False)
    _store: Any = field(default=None, repr=False)

    @classmethod
    def open(cls, path: str | Path) -> TiffMovie:
        """Open ``path`` without reading its pixel data.

        Raises
        ------
        TiffImportError
            If the file is missing, not a readable TIFF, or not a (t, y, x) / (t, z, y, x)
            stack of real numbers.
        """
        path = Path(path)
        if not path.is_file():
            raise TiffImportError(f"{path}: file not found")
        try:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                axes, shape, dtype = series.axes, tuple(series.shape), np.dtype(series.dtype)
                meta = _metadata(tif)
                _check_complete(path, series)
                _check_one_frame_shape(path, tif.series)
            store = tifffile.imread(path, aszarr=True)
            array = zarr.open_array(store, mode="r")
        except (tifffile.TiffFileError, OSError, ValueError, IndexError, KeyError) as err:
            raise TiffImportError(f"{path}: not a readable TIFF stack ({err})") from err
        shape = _movie_shape(path, axes, shape)
        if dtype.kind not in "uif":
            raise TiffImportError(f"{path}: pixel type {dtype} is not a real number type")
        if array.shape != shape:
            array = _Reshaped(array, shape)
        return cls(path=path, shape=shape, dtype=dtype, _array=array, _store=store, **meta)

    @property
    def array(self) -> Any:
        """Lazy array (zarr over the TIFF pages) of shape :attr:`shape`."""
        return self._array

    @property
    def frames_per_chunk(self) -> int:
        """Frames per block of sequential reading: as many as a ``<photon@>`` shard holds."""
        return min(self.shape[0], frames_per_block(self.shape[1:]))

    def __getitem__(self, index: Any) -> np.ndarray:
        return np.asarray(self._array[index])

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> TiffMovie:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_complete(path: Path, series: Any) -> None:
    """Refuse a file whose pixel data runs past its end (a copy cut short)."""
    size = path.stat().st_size
    if series.dataoffset is not None:
        end = int(series.dataoffset) + int(series.nbytes)
    else:
        pages = [p for p in series.pages if p is not None]
        last = pages[-1] if pages else None
        offsets = getattr(last, "dataoffsets", ()) or ()
        counts = getattr(last, "databytecounts", ()) or ()
        end = max((int(o) + int(c) for o, c in zip(offsets, counts)), default=0)
        if len(pages) * int(np.prod(series.pages[0].shape)) < int(np.prod(series.shape)):
            end = max(end, size + 1)  # fewer pages than the series declares
    if end > size:
        raise TiffImportError(
            f"{path}: truncated: its pixel data should run to byte {end} but the file has "
            f"{size} bytes (a copy cut short?); expected the complete file")


def _check_one_frame_shape(path: Path, all_series: list) -> None:
    """Refuse pages of different shapes (tifffile then splits the file into series)."""
    shapes = {tuple(sr.shape[-2:]) for sr in all_series}
    if len(all_series) > 1 and len(shapes) > 1:
        listed = ", ".join(f"{h}x{w}" for h, w in sorted(shapes)[:4])
        raise TiffImportError(
            f"{path}: its pages have different shapes ({listed}); expected a stack of "
            "frames of one shape")


def _movie_shape(path: Path, axes: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Normalize tifffile's axes to (t, y, x) or (t, z, y, x)."""
    axes = axes.upper().replace("I", "T").replace("Q", "T")
    if axes.endswith("S"):
        raise TiffImportError(f"{path}: RGB/sample axes are not a calcium-imaging movie")
    if len(shape) == 2:
        raise TiffImportError(f"{path}: a single image (shape {shape}), expected a movie")
    if len(shape) == 3:
        return shape
    if len(shape) == 4 and axes[-2:] == "YX":
        return shape
    raise TiffImportError(
        f"{path}: axes {axes!r} shape {shape}; expected (t, y, x) or (t, z, y, x)"
    )


def _metadata(tif: tifffile.TiffFile) -> dict:
    meta: dict[str, Any] = {}
    ij = tif.imagej_metadata or {}
    if ij.get("finterval"):
        meta["frame_rate"] = 1.0 / float(ij["finterval"])
    elif ij.get("fps"):
        meta["frame_rate"] = float(ij["fps"])
    if ij.get("spacing"):
        meta["plane_spacing"] = float(ij["spacing"])
    si = tif.scanimage_metadata or {}
    rate = (si.get("FrameData") or {}).get("SI.hRoiManager.scanVolumeRate")
    if rate and "frame_rate" not in meta:
        meta["frame_rate"] = float(rate)
    props = ij.get("Properties") or {}
    values = {
        name[len(CALIBRATION_PROPERTY) :]: float(value)
        for name, value in props.items()
        if name.startswith(CALIBRATION_PROPERTY)
    }
    if "gain" in values:
        meta["calibration"] = Calibration(**values)
    return meta


def calibration_properties(calibration: Calibration) -> dict[str, str]:
    """ImageJ ``Properties`` that record ``calibration`` in a TIFF written by us."""
    return {CALIBRATION_PROPERTY + k: repr(v) for k, v in calibration.to_dict().items()}


class _Reshaped:
    """A (pages, y, x) zarr view with the series' (t, z, y, x) shape."""

    def __init__(self, array: Any, shape: tuple[int, ...]) -> None:
        self._array = array
        self.shape = shape
        self.dtype = array.dtype
        self.ndim = len(shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        return index_frames(self, self._frames, index)

    def _frames(self, t0: int, t1: int) -> np.ndarray:
        planes = self.shape[1]
        pages = np.asarray(self._array[t0 * planes : t1 * planes])
        return pages.reshape((t1 - t0, *self.shape[1:]))


def load_tiff_stack(path: str | Path) -> np.ndarray:
    """The whole stack at ``path`` as a numpy array of shape (t, y, x) or (t, z, y, x).

    For code written the design document's way (``raw_movie = load_tiff_stack(path)``);
    the pipeline itself streams with :class:`TiffMovie` instead of loading everything.

    Raises
    ------
    TiffImportError
        As :meth:`TiffMovie.open`.
    """
    with TiffMovie.open(path) as tiff:
        return np.asarray(tiff.array[:])
