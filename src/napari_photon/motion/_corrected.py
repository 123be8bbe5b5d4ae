"""Lazily corrected movies that gather registration QC while they are read."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _engine as E
from . import _kernels as K
from ._blas import single_threaded_blas
from ._estimate import MotionEstimate, assemble, default_chunk
from ._interpolate import block_plans
from ._parallel import ProgressCallback, thread_pool
from ._reference import build_reference


class CorrectedMovie:
    """A movie whose frames are motion-corrected when read, gathering QC on the way.

    Reads are contiguous blocks of frames (``movie[t0:t1]``, or one frame ``movie[t]``),
    as a ``<photon@>`` write or ``dask.array.from_array`` make them; nothing is computed
    before. Rigid shifts are applied by cubic convolution (or Fourier interpolation, see
    the ``interpolation`` setting), with nearest-edge filling instead of wrap-around;
    piecewise fields by ``scipy.ndimage.map_coordinates`` (spline ``order``).

    While frames are read, it records each frame's correlation with the reference after
    correction and accumulates mean and max projections (each frame counted once, however
    often it is read); ``mean_image``/``max_image`` are available once every frame has been
    read.

    Parameters
    ----------
    movie : array-like (t, y, x)
        The uncorrected, stabilized movie (e.g. a ``PhotonMovie``).
    estimate : MotionEstimate
        From :func:`~napari_photon.motion.estimate_motion`.
    progress : callable, optional
        ``progress(frames_read, frames_total)`` after each read (distinct frames).
    workers : int, optional
        Threads a block is split over (default: the number of cores).
    """

    def __init__(self, movie: Any, estimate: MotionEstimate | None, *,
                 progress: ProgressCallback | None = None, workers: int | None = None,
                 _settings: E.Settings | None = None, _reference: np.ndarray | None = None
                 ) -> None:
        self.movie = movie
        self.estimate = estimate
        self.progress = progress
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self.shape = tuple(int(n) for n in movie.shape)
        if len(self.shape) != 3:
            raise ValueError(f"motion correction needs a (t, y, x) movie, got {self.shape}")
        self.dtype = np.dtype(np.float32)
        settings = _settings if _settings is not None else estimate.to_settings()
        reference = _reference if _reference is not None else estimate.reference
        if estimate is not None and len(estimate.shifts) != self.shape[0]:
            raise ValueError(f"the estimate covers {len(estimate.shifts)} frames, the movie "
                             f"{self.shape[0]}")
        self._settings = settings
        self._qc_model = E.Model(settings=settings, shape=self.shape[1:],
                                 reference=np.asarray(reference, np.float32),
                                 ref_conj=np.empty(0, np.complex64),
                                 filt=np.empty(0, np.float32))
        self._qc_model.qc_ref = E.qc_reference(self._qc_model.reference, settings.qc_margin)
        h, w = self.shape[1:]
        t = self.shape[0]
        self._corr = np.full(t, np.nan, np.float32)
        self._seen = np.zeros(t, bool)
        self._sum = np.zeros((h, w), np.float64)
        self._max = np.full((h, w), -np.inf, np.float32)
        self._lock = threading.Lock()

    # -- array protocol ----------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return 3

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * 4

    @property
    def frames_per_chunk(self) -> int:
        return default_chunk(self.movie)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(shape={self.shape}, method={self._settings.method!r}, "
                f"read={int(self._seen.sum())}/{self.shape[0]})")

    def __getitem__(self, index: Any) -> np.ndarray:
        rest: tuple = ()
        if isinstance(index, tuple):
            index, rest = (index[0] if index else slice(None)), index[1:]
        if isinstance(index, (int, np.integer)):
            t = int(index) % self.shape[0] if -self.shape[0] <= index < self.shape[0] else None
            if t is None:
                raise IndexError(f"frame {index} out of range for {self.shape[0]} frames")
            return self._read(t, t + 1)[0][(0, *rest)]
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise IndexError(f"{type(self).__name__} is read in contiguous blocks of frames "
                             "(movie[t0:t1] or movie[t])")
        t0, t1, _ = index.indices(self.shape[0])
        if t1 <= t0:
            return np.empty((0, *self.shape[1:]), np.float32)[(slice(None), *rest)]
        out = self._read(t0, t1)[0]
        return out[(slice(None), *rest)] if rest else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def to_dask(self, frames_per_chunk: int | None = None) -> Any:
        """Lazy dask array of corrected frames (reads go through this object, so QC is
        still gathered)."""
        import dask.array as da

        per = frames_per_chunk or self.frames_per_chunk
        return da.from_array(self, chunks=(per, *self.shape[1:]), asarray=True, lock=False,
                             inline_array=True, name=f"corrected-{id(self)}-{per}")

    def map_frames(self, t0: int, t1: int, fn: Callable[[np.ndarray], Any]) -> list:
        """``[fn(frame) for frame in movie[t0:t1]]``, all in the calling thread: each frame
        is read, corrected and handed to ``fn`` there (a ``<photon@>`` write encodes the
        block while it is still in that core's cache). Callers get parallelism by mapping
        several blocks at once, one per thread, as the writer does; QC and progress are
        those of ``movie[t0:t1]``."""
        if not 0 <= t0 <= t1 <= self.shape[0]:
            raise IndexError(f"frames {t0}:{t1} out of range for {self.shape[0]} frames")
        return self._read(t0, t1, fn, split=False)[1]

    # -- reading -------------------------------------------------------------------------------
    def _read(self, t0: int, t1: int, fn: Callable[[np.ndarray], Any] | None = None,
              split: bool = True) -> tuple[np.ndarray, list]:
        """Frames ``t0:t1`` and ``fn`` of each (when given): with ``split``, each worker
        thread reads, corrects and accounts its own part (reading in parallel too: decoding
        is a third of the work), then applies ``fn`` to its frames."""
        n = t1 - t0
        # frames that only pass through fn go to a buffer kept by the thread: a new block
        # would fault in (and the kernel zero) 64 MiB of fresh pages on every read
        out = np.empty((n, *self.shape[1:]), np.float32) if fn is None else \
            _thread_buffer((n, *self.shape[1:]), "output")
        workers = self.workers if split and n >= 2 * self.workers else 1
        edges = np.linspace(0, n, workers + 1).round().astype(int)
        parts = [(t0 + int(a), t0 + int(b)) for a, b in itertools.pairwise(edges) if b > a]

        def work(part: tuple[int, int]) -> list:
            a, b = part
            dest = out[a - t0:b - t0]
            if hasattr(self.movie, "read_into"):
                # streaming (fn) keeps one block's buffer per thread; a plain read of any
                # length must not leave one behind
                source = _thread_buffer(dest.shape, "source") if fn is not None else \
                    np.empty(dest.shape, np.float32)
                frames = self.movie.read_into(a, b, source)
            else:
                frames = np.ascontiguousarray(self.movie[a:b], dtype=np.float32)
            self._correct(frames, a, b, dest)
            return [] if fn is None else [fn(frame) for frame in dest]

        with single_threaded_blas():
            if len(parts) == 1:
                mapped = work(parts[0])
            else:
                mapped = [r for part in thread_pool().map(work, parts) for r in part]
        if self.progress is not None:
            self.progress(self.frames_read, self.shape[0])
        return out, mapped

    def _correct(self, frames: np.ndarray, t0: int, t1: int, out: np.ndarray) -> None:
        """Frames ``t0:t1`` corrected into ``out`` (not overlapping ``frames``), their QC
        and projections accounted."""
        shifts, tile_shifts = self._motion(frames, t0, t1)
        s = self._settings
        projections = None
        if tile_shifts is not None:
            out[...] = E.apply_field(frames, _interpolator_for(self)(tile_shifts), s.order)
            corr = E.frame_correlation(out, self._qc_model)
        elif s.interpolation != "cubic":
            E.apply_rigid(frames, shifts, s.interpolation, out)
            corr = E.frame_correlation(out, self._qc_model)
        else:  # shift, QC and projections in one sweep over the frames
            projections = (np.zeros(out.shape[1:], np.float64),
                           np.full(out.shape[1:], -np.inf, np.float32))
            corr = K.correct_block(frames, out, *block_plans(out.shape[1:], shifts),
                                   *projections, *E.qc_arguments(self._qc_model))
        self._account(out, corr, t0, t1, projections)

    def _motion(self, frames: np.ndarray, t0: int, t1: int
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """Rigid shifts (n, 2) of frames ``t0:t1`` and, for piecewise correction, the tile
        shifts (n, ny, nx, 2)."""
        est = self.estimate
        piecewise = self._settings.method == "piecewise" and est.tile_shifts is not None
        return est.shifts[t0:t1], est.tile_shifts[t0:t1] if piecewise else None

    def _account(self, out: np.ndarray, corr: np.ndarray, t0: int, t1: int,
                 projections: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Record frames ``t0:t1``'s correlations and add them to the projections (each
        frame once, however often it is read); ``projections``: their sum and max when
        already computed."""
        # float64 frame by frame: the mean must not depend on how reads split the movie
        if not len(out):
            return
        if projections is None:
            part_sum = np.zeros(out.shape[1:], np.float64)
            part_max = out[0].copy()
            for frame in out:  # both while the frame is in cache
                np.add(part_sum, frame, out=part_sum)
                np.maximum(part_max, frame, out=part_max)
        else:
            part_sum, part_max = projections
        with self._lock:
            new = ~self._seen[t0:t1]
            if new.all():
                self._sum += part_sum
                np.maximum(self._max, part_max, out=self._max)
            elif new.any():
                fresh = out[new]
                self._sum += fresh.sum(axis=0, dtype=np.float64)
                np.maximum(self._max, fresh.max(axis=0), out=self._max)
            self._seen[t0:t1] = True
            self._corr[t0:t1] = corr

    # -- QC ------------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """Whether every frame has been read at least once."""
        return bool(self._seen.all())

    @property
    def frames_read(self) -> int:
        return int(self._seen.sum())

    @property
    def correlation_after(self) -> np.ndarray:
        """(t,) correlation of each corrected frame with the reference (NaN: not read)."""
        return self._corr.copy()

    def _require_complete(self, what: str) -> None:
        if not self.complete:
            raise RuntimeError(f"{what} is available once every frame was read "
                               f"({self.frames_read} of {self.shape[0]} so far)")

    @property
    def mean_image(self) -> np.ndarray:
        """Mean projection of the corrected movie (after a full read)."""
        self._require_complete("mean_image")
        return (self._sum / self.shape[0]).astype(np.float32)

    @property
    def max_image(self) -> np.ndarray:
        """Max projection of the corrected movie (after a full read)."""
        self._require_complete("max_image")
        return self._max.copy()

    def qc(self) -> dict:
        """Registration QC: correlations before/after, projections (after a full read)."""
        est = self.estimate
        return {
            "correlation_before": None if est is None else est.correlation_before,
            "correlation_after": self.correlation_after,
            "mean_image": self.mean_image,
            "max_image": self.max_image,
        }


class RegisteringMovie(CorrectedMovie):
    """Single pass: each read estimates the motion of its frames and corrects them.

    Made by :func:`register`; :meth:`finalize` returns the :class:`MotionEstimate` once
    every frame has been read.
    """

    def __init__(self, movie: Any, model: E.Model, *, progress: ProgressCallback | None,
                 workers: int | None) -> None:
        self._model = model
        super().__init__(movie, None, progress=progress, workers=workers,
                         _settings=model.settings, _reference=model.reference)
        self._parts: dict[int, E.BlockEstimate] = {}

    def _motion(self, frames: np.ndarray, t0: int, t1: int
                ) -> tuple[np.ndarray, np.ndarray | None]:
        part = E.estimate_block(frames, self._model)
        if part.tile_shifts is not None:
            part.tile_shifts = E.smooth_in_time(part.tile_shifts, part.shifts,
                                                self._settings.tile_temporal_sigma)
        with self._lock:
            self._parts[t0] = part
        return part.shifts, part.tile_shifts

    def finalize(self) -> MotionEstimate:
        """The motion estimate of the whole movie (requires every frame to have been read)."""
        self._require_complete("finalize()")
        parts, covered = [], 0
        for t0 in sorted(self._parts):
            part = self._parts[t0]
            n = len(part.shifts)
            if t0 + n <= covered:
                continue
            if t0 < covered:  # overlapping reads: keep the frames not yet covered
                k = covered - t0
                part = E.BlockEstimate(
                    shifts=part.shifts[k:], peak=part.peak[k:],
                    correlation=part.correlation[k:],
                    tile_shifts=None if part.tile_shifts is None else part.tile_shifts[k:])
            parts.append(part)
            covered = t0 + n
        self.estimate = assemble(self._model, parts, smooth=False)
        return self.estimate


_local = threading.local()


def _thread_buffer(shape: tuple[int, ...], name: str) -> np.ndarray:
    """A float32 array of ``shape`` that this thread reuses from call to call (one per
    ``name``)."""
    size = int(np.prod(shape))
    buffers = _local.__dict__.setdefault("buffers", {})
    buffer = buffers.get(name)
    if buffer is None or buffer.size < size:
        buffer = buffers[name] = np.empty(size, np.float32)
    return buffer[:size].reshape(shape)


def _interpolator_for(movie: CorrectedMovie) -> E.FieldInterpolator:
    """Upsampling of the movie's tile shifts to fields (made once per movie)."""
    if not hasattr(movie, "_field_interp"):
        movie._field_interp = E.FieldInterpolator.for_settings(movie._settings,
                                                               movie.shape[1:])
    return movie._field_interp


def register(movie: Any, *, progress: ProgressCallback | None = None,
             reference: np.ndarray | None = None, workers: int | None = None,
             **settings: Any) -> tuple[RegisteringMovie, Callable[[], MotionEstimate]]:
    """Single-pass registration: build the reference, then estimate and correct each block
    as it is read (one read of the movie instead of two).

    Takes the settings of :func:`~napari_photon.motion.estimate_motion` (``method``,
    ``reference_frames``, ``max_shift``...). Returns the corrected movie (a
    :class:`CorrectedMovie` whose reads also estimate) and ``finalize``, which returns the
    :class:`MotionEstimate` once every frame has been read::

        corrected, finalize = motion.register(movie)
        save_movie(path, Stabilized(corrected, movie.calibration))
        estimate = finalize()
    """
    s = E.resolve_settings(tuple(movie.shape), **settings)
    with single_threaded_blas():
        if reference is None:
            reference, _ = build_reference(movie, s, block=default_chunk(movie))
        model = E.build_model(np.asarray(reference, np.float32), s)
    corrected = RegisteringMovie(movie, model, progress=progress, workers=workers)
    return corrected, corrected.finalize
