"""The lazy movie a ``<photon@>`` fetch returns."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .._frames import Frames
from ..anscombe import generalized_inverse_anscombe
from ..calibration import Calibration
from ._checksums import CHECKSUMS_KEY
from ._location import ZarrLocation
from ._shards import ShardLayout, layout_of, read_frames

Transform = Callable[[np.ndarray], np.ndarray]


class PhotonMovie(Frames):
    """A stored movie that reads nothing until it is indexed (a
    :class:`~napari_photon._frames.FrameSource`).

    Indexing gives variance-stabilized float32 values (generalized Anscombe: photon noise
    has unit standard deviation everywhere). ``.counts`` gives photon counts, ``.to_dask()``
    a dask array (one frame per chunk, for viewers) that keeps the store open for as long
    as it lives.

    Parameters
    ----------
    location : ZarrLocation
        Where the zarr array is.
    metadata : dict
        Shape, calibration, step... as kept in the row's JSON or the zarr attributes.
    transform : callable, optional
        Applied to raw array blocks to give stabilized values (for foreign formats whose
        arrays hold levels rather than stabilized values).
    """

    def __init__(
        self, location: ZarrLocation, metadata: dict, transform: Transform | None = None
    ) -> None:
        self._location = location
        self._meta = dict(metadata)
        self._transform = transform
        self._array = None
        self._layout: ShardLayout | None | bool = False  # False: not looked at yet
        self._lock = threading.Lock()

    # -- metadata, no I/O --------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self._meta["shape"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def original_nbytes(self) -> int:
        """Bytes of the movie as it was inserted (its source dtype)."""
        return self.size * np.dtype(self._meta.get("source_dtype", "uint16")).itemsize

    @property
    def stored_nbytes(self) -> int:
        """Bytes the movie occupies in its store."""
        if self._meta.get("stored_nbytes") is None:
            self._meta["stored_nbytes"] = self._location.stored_nbytes()
        return int(self._meta["stored_nbytes"])

    @property
    def calibration(self) -> Calibration:
        return Calibration.from_dict(self._meta["calibration"])

    @property
    def step(self) -> float:
        return float(self._meta.get("step", 0.5))

    @property
    def frames_per_chunk(self) -> int:
        """Frames per stored shard: the natural block for sequential processing."""
        return int(self._meta.get("frames_per_shard") or self.shape[0])

    @property
    def path(self) -> str:
        return self._location.path

    @property
    def store(self) -> str:
        return self._location.store_name

    @property
    def location(self) -> ZarrLocation:
        return self._location

    @property
    def metadata(self) -> dict:
        return dict(self._meta)

    def __repr__(self) -> str:
        where = self._location.describe()
        return f"PhotonMovie(shape={self.shape}, calibration={self.calibration}, at {where!r})"

    # -- data ----------------------------------------------------------------------------
    @property
    def zarr_array(self) -> Any:
        """The underlying zarr array (opened on first use: reads ``zarr.json`` only)."""
        with self._lock:
            if self._array is None:
                self._array = self._location.open_array()
            return self._array

    @property
    def shard_layout(self) -> ShardLayout | None:
        """The layout our writer stores (read whole shards without zarr's per-chunk
        pipeline), or None for anything else."""
        if self._layout is False:
            layout = None if self._transform is not None else layout_of(self.zarr_array)
            self._layout = layout
        return self._layout  # type: ignore[return-value]

    def __getitem__(self, index: Any) -> np.ndarray:
        fast = self._read_fast(index)
        if fast is not None:
            return fast
        values = np.asarray(self.zarr_array[index])
        if self._transform is not None:
            return self._transform(values)
        return values.astype(np.float32, copy=False)

    def _read_fast(self, index: Any) -> np.ndarray | None:
        """Contiguous frames through :mod:`._shards`; None when the index or the layout
        needs zarr."""
        span = self._fast_span(index)
        if span is None:
            return None
        t0, t1, squeeze, rest = span
        values = read_frames(self._location, self.shard_layout, t0, t1,
                             checksums=self._meta.get(CHECKSUMS_KEY))
        if squeeze:
            return values[0][rest] if rest else values[0]
        return values[(slice(None), *rest)] if rest else values

    def _fast_span(self, index: Any) -> tuple[int, int, bool, tuple] | None:
        """``(t0, t1, squeeze, rest)`` for an index our shard reader serves, else None."""
        layout = self.shard_layout
        if layout is None:
            return None
        first, rest = (index[0], index[1:]) if isinstance(index, tuple) and index else (
            index, ())
        t = self.shape[0]
        if first is Ellipsis:
            if rest:
                return None
            t0, t1, squeeze = 0, t, False
        elif isinstance(first, (int, np.integer)):
            if not -t <= first < t:
                return None  # zarr raises the usual IndexError
            t0 = int(first) % t
            t1, squeeze = t0 + 1, True
        elif isinstance(first, slice) and first.step in (None, 1):
            t0, t1, _ = first.indices(t)
            t1, squeeze = max(t0, t1), False
        else:
            return None
        if any(r is Ellipsis or not isinstance(r, (slice, int, np.integer)) for r in rest):
            return None
        per = layout.frames_per_shard
        if not self._location.is_local and (t0 % per or (t1 % per and t1 != t)):
            return None  # part of a remote shard: zarr's range requests
        return t0, t1, squeeze, tuple(rest)

    def read_into(self, t0: int, t1: int, out: np.ndarray) -> np.ndarray:
        """Frames ``t0:t1`` written into ``out`` (float32, shape ``(t1 - t0, ...)``):
        streaming readers reuse one buffer instead of allocating a block per read."""
        if self._fast_span(slice(t0, t1)) is not None:
            return read_frames(self._location, self.shard_layout, t0, t1, out=out,
                               checksums=self._meta.get(CHECKSUMS_KEY))
        out[...] = self[t0:t1]
        return out

    def _dask_prefix(self) -> str:
        return f"photon-{self._location.describe()}"

    def __getstate__(self) -> dict:  # for dask.distributed: no lock, no open array
        state = dict(self.__dict__)
        state.update(_array=None, _lock=None, _layout=False)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def counts(self) -> PhotonCounts:
        """Photon counts through the exact unbiased inverse (Makitalo & Foi)."""
        return PhotonCounts(self, inverse="unbiased")

    def photons(self, inverse: str = "algebraic") -> PhotonCounts:
        """Photon counts through the chosen inverse of the stabilizing transform.

        ``"algebraic"`` undoes the transform value by value (each pixel's own count, up to
        quantization), so sums and means over pixels or frames stay unbiased: traces use it.
        ``"unbiased"`` maps an *expected* stabilized value to the expected count: right for
        denoised or averaged stabilized values.
        """
        return PhotonCounts(self, inverse=inverse)


class PhotonCounts(Frames):
    """A lazy photon-count view of a :class:`PhotonMovie` (a
    :class:`~napari_photon._frames.FrameSource`)."""

    def __init__(self, movie: PhotonMovie, inverse: str = "unbiased") -> None:
        if inverse not in ("unbiased", "algebraic"):
            raise ValueError(f"inverse must be 'unbiased' or 'algebraic', got {inverse!r}")
        self._movie = movie
        self.inverse = inverse

    movie = property(lambda self: self._movie, doc="The stored movie this view reads.")
    shape = property(lambda self: self._movie.shape)
    dtype = property(lambda self: np.dtype(np.float32))
    frames_per_chunk = property(lambda self: self._movie.frames_per_chunk)

    def _invert(self, values: np.ndarray) -> np.ndarray:
        cal = self._movie.calibration
        sigma = cal.read_noise / cal.gain
        if self.inverse == "algebraic":
            return np.maximum(values * values / 4 - 0.375 - sigma * sigma, 0).astype(np.float32)
        return generalized_inverse_anscombe(values, gain=1.0, offset=0.0, sigma=sigma)

    def __getitem__(self, index: Any) -> np.ndarray:
        return self._invert(self._movie[index])

    def read_into(self, t0: int, t1: int, out: np.ndarray) -> np.ndarray:
        out[...] = self._invert(self._movie.read_into(t0, t1, out))
        return out

    def _dask_prefix(self) -> str:
        return f"photons-{self.inverse}-{self._movie.location.describe()}"


__all__ = ["PhotonCounts", "PhotonMovie"]
