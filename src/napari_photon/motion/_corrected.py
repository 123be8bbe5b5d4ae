"""Lazily corrected movies that feed registration QC to an accumulator while they are read."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .._blocks import ProgressCallback, thread_pool
from .._frames import Frames, index_frames
from .._threads import thread_count
from . import _engine as E
from . import _kernels as K
from ._blas import single_threaded_blas
from ._estimate import MotionEstimate, assemble, default_chunk
from ._interpolate import block_plans
from ._quality import MotionQuality, QualityAccumulator
from ._reference import build_reference


class CorrectedMovie(Frames):
    """A movie whose frames are motion-corrected when read (a
    :class:`~napari_photon._frames.FrameSource`), feeding registration QC on the way.

    Reads are blocks of frames (``movie[t0:t1]``, one frame ``movie[t]``, ``read_into``),
    as a ``<photon@>`` write or ``to_dask()`` make them; nothing is computed before. Rigid
    shifts are applied by cubic convolution (or Fourier interpolation, see the
    ``interpolation`` setting), with nearest-edge filling instead of wrap-around;
    piecewise fields by ``scipy.ndimage.map_coordinates`` (spline ``order``).

    Every frame read is handed, with its correlation with the reference after correction,
    to a :class:`QualityAccumulator` (``quality``): the caller's, or one of the movie's own.
    :meth:`quality` gives the :class:`MotionQuality` (correlations, mean and max
    projections) once every frame has been read: QC costs no pass of its own.

    Parameters
    ----------
    movie : array-like (t, y, x)
        The uncorrected, stabilized movie (e.g. a ``PhotonMovie``).
    estimate : MotionEstimate
        From :func:`~napari_photon.motion.estimate_motion`.
    quality : QualityAccumulator, optional
        Receives the QC of the frames read (default: a new one, :attr:`accumulator`).
    progress : callable, optional
        ``progress(frames_read, frames_total)`` after each read (distinct frames).
    workers : int, optional
        Threads a block is split over (default: the number of cores).
    """

    def __init__(self, movie: Any, estimate: MotionEstimate | None, *,
                 quality: QualityAccumulator | None = None,
                 progress: ProgressCallback | None = None, workers: int | None = None,
                 _settings: E.Settings | None = None, _reference: np.ndarray | None = None
                 ) -> None:
        self.movie = movie
        self.estimate = estimate
        self.progress = progress
        self.workers = max(1, int(workers or thread_count()))
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
        if quality is not None and quality.shape != self.shape:
            raise ValueError(f"the QC accumulator is for shape {quality.shape}, the movie "
                             f"is {self.shape}")
        self.accumulator = quality if quality is not None else QualityAccumulator(self.shape)

    # -- frame source ------------------------------------------------------------------------
    @property
    def frames_per_chunk(self) -> int:
        return default_chunk(self.movie)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(shape={self.shape}, method={self._settings.method!r}, "
                f"read={self.frames_read}/{self.shape[0]})")

    def __getitem__(self, index: Any) -> np.ndarray:
        return index_frames(self, lambda t0, t1: self._read(t0, t1)[0], index)

    def read_into(self, t0: int, t1: int, out: np.ndarray) -> np.ndarray:
        """Corrected frames ``t0:t1`` written into ``out`` (float32, C-contiguous)."""
        if not 0 <= t0 <= t1 <= self.shape[0]:
            raise IndexError(f"frames {t0}:{t1} out of range for {self.shape[0]} frames")
        if out.shape != (t1 - t0, *self.shape[1:]) or out.dtype != np.float32 or \
                not out.flags.c_contiguous:
            raise ValueError(f"out must be C-contiguous float32 of shape "
                             f"{(t1 - t0, *self.shape[1:])}")
        return self._read(t0, t1, out=out)[0]

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
              split: bool = True, out: np.ndarray | None = None) -> tuple[np.ndarray, list]:
        """Frames ``t0:t1`` (into ``out`` when given) and ``fn`` of each (when given): with
        ``split``, each worker thread reads, corrects and accounts its own part (reading in
        parallel too: decoding is a third of the work), then applies ``fn`` to its frames."""
        n = t1 - t0
        # frames that only pass through fn go to a buffer kept by the thread: a new block
        # would fault in (and the kernel zero) 64 MiB of fresh pages on every read
        if out is None:
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
        """Hand frames ``t0:t1``, their correlations and (when already computed) their sum
        and max to the QC accumulator, which counts each frame once."""
        self.accumulator.add(t0, out, corr, projections)

    # -- reads and QC --------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """Whether every frame has been read at least once (as the accumulator counts)."""
        return self.accumulator.complete

    @property
    def frames_read(self) -> int:
        """Distinct frames read (as the accumulator counts)."""
        return self.accumulator.frames_counted

    def _require_complete(self, what: str) -> None:
        if not self.complete:
            raise RuntimeError(f"{what} is available once every frame was read "
                               f"({self.frames_read} of {self.shape[0]} so far)")

    def quality(self) -> MotionQuality:
        """Registration QC of the frames read, from :attr:`accumulator` (raises
        ``RuntimeError`` before every frame was read)."""
        return self.accumulator.result()

    # the QC as it was reached before quality(): the same values
    @property
    def correlation_after(self) -> np.ndarray:
        """(t,) correlation of each corrected frame with the reference (NaN: not read)."""
        return self.accumulator.correlation_after

    @property
    def mean_image(self) -> np.ndarray:
        """``quality().mean_image``."""
        return self.quality().mean_image

    @property
    def max_image(self) -> np.ndarray:
        """``quality().max_image``."""
        return self.quality().max_image

    def qc(self) -> dict:
        """``quality()`` as a dict, with the estimate's ``correlation_before``."""
        est = self.estimate
        return {"correlation_before": None if est is None else est.correlation_before,
                **self.quality().to_dict()}


class RegisteringMovie(CorrectedMovie):
    """Single pass: each read estimates the motion of its frames and corrects them.

    Made by :func:`register`; :meth:`finalize` returns the :class:`MotionEstimate` once
    every frame has been read.
    """

    def __init__(self, movie: Any, model: E.Model, *, quality: QualityAccumulator | None,
                 progress: ProgressCallback | None, workers: int | None) -> None:
        self._model = model
        super().__init__(movie, None, quality=quality, progress=progress, workers=workers,
                         _settings=model.settings, _reference=model.reference)
        self._parts: dict[int, E.BlockEstimate] = {}
        self._lock = threading.Lock()

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


def register(movie: Any, *, quality: QualityAccumulator | None = None,
             progress: ProgressCallback | None = None,
             reference: np.ndarray | None = None, workers: int | None = None,
             **settings: Any) -> tuple[RegisteringMovie, Callable[[], MotionEstimate]]:
    """Single-pass registration: build the reference, then estimate and correct each block
    as it is read (one read of the movie instead of two).

    Takes the settings of :func:`~napari_photon.motion.estimate_motion` (``method``,
    ``reference_frames``, ``max_shift``...). Returns the corrected movie (a
    :class:`CorrectedMovie` whose reads also estimate) and ``finalize``, which returns the
    :class:`MotionEstimate` once every frame has been read; ``quality`` receives the QC of
    the frames read, as in :class:`CorrectedMovie`::

        corrected, finalize = motion.register(movie)
        save_movie(path, Stabilized(corrected, movie.calibration))
        estimate, qc = finalize(), corrected.quality()
    """
    s = E.resolve_settings(tuple(movie.shape), **settings)
    with single_threaded_blas():
        if reference is None:
            reference, _ = build_reference(movie, s, block=default_chunk(movie))
        model = E.build_model(np.asarray(reference, np.float32), s)
    corrected = RegisteringMovie(movie, model, quality=quality, progress=progress,
                                 workers=workers)
    return corrected, corrected.finalize
