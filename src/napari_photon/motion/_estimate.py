"""``estimate_motion``: one streaming pass over the movie, parallel over blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._blocks import ProgressCallback, blocks, run_blocks
from .._frames import work_frames
from . import _engine as E
from ._blas import single_threaded_blas
from ._reference import build_reference


@dataclass
class MotionEstimate:
    """Motion of every frame relative to a reference image.

    Shifts follow scikit-image's ``phase_cross_correlation``: ``shifts[t] = (dy, dx)`` is
    what must be applied to frame ``t`` to align it with ``reference`` (a frame that shows
    the scene moved by ``d`` gets ``-d``).

    Attributes
    ----------
    method : str
        ``"rigid"`` or ``"piecewise"``.
    reference : ndarray (y, x) float32
        The image frames were aligned to (stabilized units), built from registered frames.
    shifts : ndarray (t, 2) float32
        Rigid shift to apply to each frame (for piecewise: the rigid part the tiles were
        measured around).
    correlation_before : ndarray (t,) float32
        Pearson correlation of each raw frame with the reference (inside ``qc_margin``).
    peak : ndarray (t,) float32
        Height of the correlation peak (a per-frame confidence; low = doubtful frame).
    tile_centers : (ndarray, ndarray) or None
        Piecewise: y and x coordinates (px) of the tile centres, shapes (ny,) and (nx,).
    tile_shifts : ndarray (t, ny, nx, 2) float32 or None
        Piecewise: shift to apply at each tile centre (rigid part included).
    settings : dict
        All parameters used (keep them with the result).
    """

    method: str
    reference: np.ndarray
    shifts: np.ndarray
    correlation_before: np.ndarray
    peak: np.ndarray
    tile_centers: tuple[np.ndarray, np.ndarray] | None = None
    tile_shifts: np.ndarray | None = None
    settings: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.shifts)

    def field(self, t0: int = 0, t1: int | None = None) -> np.ndarray:
        """Dense shift-to-apply field of frames ``t0:t1``, float32 ``(n, 2, y, x)``.

        For rigid estimates every pixel gets the frame's shift; for piecewise ones the
        tile shifts are interpolated by a cubic spline through the tile centres (constant
        beyond the outermost centres).
        """
        t1 = self.n_frames if t1 is None else t1
        h, w = self.reference.shape
        if self.tile_shifts is None or self.tile_centers is None:
            out = np.empty((t1 - t0, 2, h, w), np.float32)
            out[:] = self.shifts[t0:t1, :, None, None]
            return out
        return _interpolator(self)(self.tile_shifts[t0:t1])

    def to_settings(self) -> E.Settings:
        return E.Settings(**self.settings)


def _interpolator(estimate: MotionEstimate) -> E.FieldInterpolator:
    cache = estimate.__dict__.setdefault("_interp", {})
    if "f" not in cache:
        cache["f"] = E.FieldInterpolator.for_settings(estimate.to_settings(),
                                                      estimate.reference.shape)
    return cache["f"]


def default_chunk(movie: Any) -> int:
    per = getattr(movie, "frames_per_chunk", None)
    return int(per) if per else 64


def _estimate_span(movie: Any, t0: int, t1: int, model: E.Model) -> E.BlockEstimate:
    with single_threaded_blas():
        return E.estimate_block(np.asarray(movie[t0:t1], dtype=np.float32), model)


def estimate_motion(
    movie: Any,
    *,
    method: str = "rigid",
    reference_frames: int | None = None,
    iterations: int | None = None,
    tile_size: int | None = None,
    tile_overlap: int | None = None,
    max_shift: float | None = None,
    max_tile_shift: float | None = None,
    smooth_sigma: float | None = None,
    whiten: float | None = None,
    highpass: float | None = None,
    binning: int | None = None,
    tile_outlier: float | None = None,
    tile_smoothing: float | None = None,
    tile_passes: int | None = None,
    tile_temporal_sigma: float | None = None,
    order: int | None = None,
    qc_margin: int | None = None,
    reference: np.ndarray | None = None,
    frames_per_chunk: int | None = None,
    progress: ProgressCallback | None = None,
    client: Any = None,
    workers: int | None = None,
) -> MotionEstimate:
    """Estimate rigid or piecewise-rigid motion of a variance-stabilized movie.

    The reference is built first from ``reference_frames`` frames (evenly spread runs,
    registered to their own average ``iterations`` times); then every frame is read once,
    block by block (``frames_per_chunk``, default: the stored shard in blocks of at most
    64 frames, :func:`~napari_photon._frames.work_frames`), in parallel.

    Parameters
    ----------
    movie : array-like (t, y, x)
        A :class:`~napari_photon.storage.PhotonMovie` (stabilized values) or any array that
        can be sliced along time (numpy, zarr, dask).
    method : {"rigid", "piecewise"}
    reference_frames, iterations : int, optional
        Reference construction (defaults 200 and 3).
    tile_size, tile_overlap, max_tile_shift, tile_outlier, tile_smoothing, tile_passes, \
tile_temporal_sigma, order : optional
        Piecewise settings (defaults: tiles of min(128, size/2) px, 64 px overlap, 8 px
        beyond the rigid shift, 1 px outlier threshold, neighbour weight 0.25, 2 passes,
        1 frame of temporal smoothing, cubic remap). See
        :class:`~napari_photon.motion.Settings`.
    max_shift : float, optional
        Largest rigid displacement searched (default: an eighth of the frame).
    smooth_sigma, whiten, highpass, binning, qc_margin : optional
        Correlation settings, see :class:`~napari_photon.motion._engine.Settings`.
    reference : ndarray (y, x), optional
        Align to this image instead of building a reference.
    progress : callable, optional
        ``progress(frames_done, frames_total)`` as blocks finish (in the calling thread).
    client : dask.distributed.Client, optional
        Run the blocks on this cluster (default: Dask threads, ``workers`` of them).

    Returns
    -------
    MotionEstimate
    """
    settings = E.resolve_settings(
        tuple(movie.shape), method=method, reference_frames=reference_frames,
        iterations=iterations, tile_size=tile_size, tile_overlap=tile_overlap,
        max_shift=max_shift, max_tile_shift=max_tile_shift, smooth_sigma=smooth_sigma,
        whiten=whiten, highpass=highpass, binning=binning, tile_outlier=tile_outlier, tile_smoothing=tile_smoothing,
        tile_passes=tile_passes, tile_temporal_sigma=tile_temporal_sigma,
        order=order, qc_margin=qc_margin)
    per = int(frames_per_chunk or work_frames(default_chunk(movie)))
    with single_threaded_blas():
        if reference is None:
            reference, _ = build_reference(movie, settings, block=per)
        model = E.build_model(np.asarray(reference, np.float32), settings)
    parts = run_blocks(_estimate_span, movie, blocks(len(movie), per), (model,),
                       progress=progress, client=client, workers=workers)
    return assemble(model, parts)


def assemble(model: E.Model, parts: list[E.BlockEstimate], smooth: bool = True
             ) -> MotionEstimate:
    """Concatenate block estimates into a :class:`MotionEstimate` (piecewise: smoothing
    the non-rigid part over time unless ``smooth`` is False)."""
    s = model.settings
    tiles = None
    centers = None
    shifts = np.concatenate([p.shifts for p in parts]).astype(np.float32)
    if s.method == "piecewise" and model.grid is not None:
        tiles = np.concatenate([p.tile_shifts for p in parts]).astype(np.float32)
        if smooth:
            tiles = E.smooth_in_time(tiles, shifts, s.tile_temporal_sigma)
        centers = (model.grid.centers_y.astype(np.float32),
                   model.grid.centers_x.astype(np.float32))
    return MotionEstimate(
        method=s.method, reference=model.reference,
        shifts=shifts,
        correlation_before=np.concatenate([p.correlation for p in parts]).astype(np.float32),
        peak=np.concatenate([p.peak for p in parts]).astype(np.float32),
        tile_centers=centers, tile_shifts=tiles, settings=s.to_dict())
