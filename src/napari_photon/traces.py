"""Fluorescence traces in photons: ROI means, neuropil and dF/F, streaming over blocks.

:func:`extract` gives the design document's ``fluorescence``: the mean photon count of
each ROI in every frame. :func:`extract_all` gives, in the same single pass over the
movie (one sparse matrix product per block of frames), the fluorescence and the neuropil
(the mean of an annulus around each ROI that excludes every ROI), and then dF/F::

    Fc   = F - c * N                                  (c: each ROI's own, estimated by
                                                       napari_photon.neuropil, or fixed)
    F0   = running baseline of Fc                     ("maximin": Gaussian smoothing,
                                                       then a running min, then max)
    dF/F = (Fc - F0) / max(F0, floor * median(F))

Everything after the pass works on the (n, t) traces in memory, so dF/F can be
recomputed with other parameters by :func:`delta_f_over_f` without reading the movie.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage, sparse

from ._in_order import in_order
from ._threads import thread_count
from .neuropil import estimate_coefficients

ProgressCallback = Callable[[int, int], None]

#: the one coefficient for every ROI that suite2p uses, and what traces stored without
#: their own coefficient were corrected with
FIXED_NEUROPIL_COEFFICIENT = 0.7

__all__ = [
    "FIXED_NEUROPIL_COEFFICIENT",
    "TraceResult",
    "baseline",
    "delta_f_over_f",
    "extract",
    "extract_all",
    "neuropil_masks",
    "trace_metrics",
]


@dataclass
class TraceResult:
    """Traces of n ROIs over t frames, float32 (n, t).

    Attributes
    ----------
    fluorescence : ndarray
        Mean photons per pixel in each ROI (the design document's ``fluorescence``).
    neuropil : ndarray
        Mean photons per pixel in each ROI's neuropil annulus.
    dff : ndarray
        dF/F of the neuropil-corrected fluorescence.
    baseline : ndarray
        F0 of that dF/F, photons.
    neuropil_masks : ndarray of bool, shape (n, y, x)
    params : dict
        The parameters used (JSON-serializable).
    coefficients : ndarray of float32, shape (n,)
        Each ROI's neuropil coefficient ``c`` (estimated, or the fixed one).
    """

    fluorescence: np.ndarray
    neuropil: np.ndarray
    dff: np.ndarray
    baseline: np.ndarray
    neuropil_masks: np.ndarray
    params: dict
    coefficients: np.ndarray | None = None

    @property
    def corrected(self) -> np.ndarray:
        """``fluorescence - c * neuropil`` with each ROI's coefficient."""
        c = self.coefficients
        if c is None:
            c = np.full(len(self.fluorescence), self.params.get("neuropil_coefficient",
                                                                 FIXED_NEUROPIL_COEFFICIENT))
        return self.fluorescence - np.asarray(c, np.float32)[:, None] * self.neuropil


def _mean_weights(masks: np.ndarray) -> sparse.csr_matrix:
    """Sparse (n, pixels) matrix whose rows average each mask (no dense float copy)."""
    n = len(masks)
    flat = masks.reshape(n, int(np.prod(masks.shape[1:])))
    rows, cols = np.nonzero(flat)
    counts = np.bincount(rows, minlength=n)
    values = (1.0 / np.maximum(counts, 1))[rows].astype(np.float32)
    return sparse.csr_matrix((values, (rows, cols)), shape=flat.shape)


def _project_block(photons: Any, t0: int, t1: int, weights: sparse.csr_matrix) -> np.ndarray:
    block = np.asarray(photons[t0:t1], dtype=np.float32)
    return (weights @ block.reshape(len(block), -1).T).astype(np.float32)


def _project(photons: Any, weights: sparse.csr_matrix, frames_per_chunk: int,
             progress: ProgressCallback | None, client: Any = None) -> np.ndarray:
    """``weights @ frame`` for every frame, block by block: (rows, t) float32.

    Blocks are read and projected by the package's thread pool (:func:`thread_count`
    threads, as many blocks in memory), each into its own columns of the result;
    progress is reported, and a cancel raised by it stops the work, in frame order.
    With a dask.distributed ``client``, the cluster's workers read and project the blocks
    (each reopens the stored movie) and send back their columns.
    """
    n_frames = len(photons)
    step = max(1, int(frames_per_chunk))
    if client is not None:
        from ._blocks import blocks, run_blocks

        parts = run_blocks(_project_block, photons, blocks(n_frames, step), (weights,),
                           progress=progress, client=client)
        return (np.concatenate(parts, axis=1) if parts
                else np.empty((weights.shape[0], 0), np.float32))
    out = np.empty((weights.shape[0], n_frames), dtype=np.float32)

    def project(t0: int) -> int:
        t1 = min(t0 + step, n_frames)
        out[:, t0:t1] = _project_block(photons, t0, t1, weights)
        return t1 - t0

    workers = thread_count()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for t0, n in in_order(pool, project, list(range(0, n_frames, step)), workers):
            if progress is not None:
                progress(t0 + n, n_frames)
    return out


def extract(
    photons: Any,
    masks: np.ndarray,
    frames_per_chunk: int = 64,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Mean photon count inside each mask, for every frame.

    Parameters
    ----------
    photons : array-like, shape (t, y, x)
        Photon counts per pixel, read block by block along time.
    masks : ndarray of bool, shape (n, y, x)

    Returns
    -------
    ndarray of float32, shape (n, t)
    """
    masks = np.asarray(masks, bool)
    return _project(photons, _mean_weights(masks), frames_per_chunk, progress)


def neuropil_masks(
    masks: np.ndarray,
    *,
    inner_gap: float = 2.0,
    outer_factor: float = 3.0,
    min_pixels: int = 50,
) -> np.ndarray:
    """Neuropil annulus of each ROI, excluding every ROI.

    A pixel belongs to ROI i's neuropil when it lies within ``outer_factor`` x r_i of the
    ROI's centroid (r_i: radius of the disk of equal area) and farther than ``inner_gap``
    pixels from every ROI (its own included). The outer radius grows by 25 % steps until
    the annulus has ``min_pixels`` pixels (or covers the frame).

    Returns
    -------
    ndarray of bool, shape (n, y, x)
    """
    masks = np.asarray(masks, bool)
    n = len(masks)
    height, width = masks.shape[-2:]
    out = np.zeros(masks.shape, bool)
    if n == 0:
        return out
    union = masks.any(axis=0)
    free = ndimage.distance_transform_edt(~union) > inner_gap
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        if len(ys) == 0:
            continue
        cy, cx = ys.mean(), xs.mean()
        radius = outer_factor * math.sqrt(len(ys) / math.pi) + inner_gap
        while True:
            r = math.ceil(radius)
            y0, y1 = max(0, int(cy) - r - 1), min(height, int(cy) + r + 2)
            x0, x1 = max(0, int(cx) - r - 1), min(width, int(cx) + r + 2)
            yy, xx = np.ogrid[y0:y1, x0:x1]
            disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
            ring = disk & free[y0:y1, x0:x1]
            covers = y0 == 0 and x0 == 0 and y1 == height and x1 == width
            if ring.sum() >= min_pixels or covers:
                break
            radius *= 1.25
        out[i, y0:y1, x0:x1] = ring
    return out


def baseline(
    traces: np.ndarray,
    *,
    method: str = "maximin",
    window: int = 900,
    sigma: float = 10.0,
    percentile: float = 8.0,
) -> np.ndarray:
    """Running baseline F0 of traces (n, t) or (t,), along the last axis.

    ``"maximin"`` (suite2p's): Gaussian smoothing (``sigma`` frames), then a running
    minimum and a running maximum over ``window`` frames. ``"percentile"``: running
    ``percentile`` over ``window`` frames of the smoothed trace (slower). ``"constant"``:
    the ``percentile`` of the smoothed trace over the whole recording.
    """
    x = np.asarray(traces, dtype=np.float32)
    smooth = ndimage.gaussian_filter1d(x, sigma, axis=-1, mode="nearest") if sigma > 0 else x
    window = max(1, min(int(window), x.shape[-1] * 2 + 1))
    if method == "maximin":
        low = ndimage.minimum_filter1d(smooth, window, axis=-1, mode="nearest")
        return ndimage.maximum_filter1d(low, window, axis=-1, mode="nearest")
    if method == "percentile":
        size = [1] * x.ndim
        size[-1] = window
        return ndimage.percentile_filter(smooth, percentile, size=size, mode="nearest")
    if method == "constant":
        level = np.percentile(smooth, percentile, axis=-1, keepdims=True)
        return np.broadcast_to(level, x.shape).astype(np.float32)
    raise ValueError(f"method must be 'maximin', 'percentile' or 'constant', got {method!r}")


def delta_f_over_f(
    fluorescence: np.ndarray,
    neuropil: np.ndarray | None = None,
    *,
    neuropil_coefficient: float | np.ndarray = FIXED_NEUROPIL_COEFFICIENT,
    baseline_method: str = "maximin",
    baseline_window: int = 900,
    baseline_sigma: float = 10.0,
    baseline_percentile: float = 8.0,
    floor: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """dF/F of neuropil-corrected traces.

    ``Fc = fluorescence - neuropil_coefficient * neuropil`` (one coefficient, or one per
    row of (n, t) traces); ``F0`` is :func:`baseline` of
    ``Fc``, floored at ``floor`` x the median of the raw fluorescence (so a trace whose
    neuropil nearly equals it cannot divide by ~0).

    Returns
    -------
    dff, f0 : ndarray of float32, same shape as ``fluorescence``
    """
    f = np.asarray(fluorescence, dtype=np.float32)
    c = np.asarray(neuropil_coefficient, dtype=np.float32)
    if c.ndim == 1 and f.ndim == 2:
        c = c[:, None]
    corrected = f if neuropil is None else f - c * neuropil
    f0 = baseline(corrected, method=baseline_method, window=baseline_window,
                  sigma=baseline_sigma, percentile=baseline_percentile)
    lowest = np.float32(floor) * np.median(f, axis=-1, keepdims=True)
    f0 = np.maximum(f0, np.maximum(lowest, 1e-6)).astype(np.float32)
    return ((corrected - f0) / f0).astype(np.float32), f0


def extract_all(
    photons: Any,
    masks: np.ndarray,
    *,
    inner_gap: float = 2.0,
    outer_factor: float = 3.0,
    min_neuropil_pixels: int = 50,
    neuropil_coefficient: float | str = "auto",
    baseline_method: str = "maximin",
    baseline_window: int = 900,
    baseline_sigma: float = 10.0,
    baseline_percentile: float = 8.0,
    floor: float = 0.1,
    frames_per_chunk: int = 64,
    progress: ProgressCallback | None = None,
    client: Any = None,
) -> TraceResult:
    """Fluorescence, neuropil and dF/F of every ROI in one streaming pass.

    Parameters
    ----------
    photons : array-like, shape (t, y, x)
        Photon counts, read in blocks of ``frames_per_chunk`` frames (e.g.
        ``PhotonMovie.photons("algebraic")``).
    masks : ndarray of bool, shape (n, y, x)
    inner_gap, outer_factor, min_neuropil_pixels
        Neuropil annulus, see :func:`neuropil_masks`.
    neuropil_coefficient : float or "auto"
        ``"auto"`` (default): each ROI's own, estimated from its traces by
        :func:`napari_photon.neuropil.estimate_coefficients`; a number: that one for all
        (suite2p's 0.7).
    baseline_method, baseline_window, baseline_sigma, baseline_percentile, floor
        dF/F, see :func:`delta_f_over_f` (window and sigma in frames).
    progress : callable(done, total), optional
    client : dask.distributed.Client, optional
        Project the blocks of frames on this cluster; default the package's threads.

    Returns
    -------
    TraceResult
    """
    params = {k: v for k, v in locals().items()
              if k not in ("photons", "masks", "progress", "client")}
    masks = np.asarray(masks, bool)
    n = len(masks)
    rings = neuropil_masks(masks, inner_gap=inner_gap, outer_factor=outer_factor,
                           min_pixels=min_neuropil_pixels)
    weights = sparse.vstack([_mean_weights(masks), _mean_weights(rings)]).tocsr()
    both = _project(photons, weights, frames_per_chunk, progress, client)
    fluorescence, neuropil = both[:n], both[n:]
    if isinstance(neuropil_coefficient, str):
        if neuropil_coefficient != "auto":
            raise ValueError("neuropil_coefficient must be a number or 'auto', "
                             f"got {neuropil_coefficient!r}")
        coefficients = estimate_coefficients(fluorescence, neuropil)
    else:
        coefficients = np.full(n, neuropil_coefficient, dtype=np.float32)
    dff, f0 = delta_f_over_f(
        fluorescence, neuropil, neuropil_coefficient=coefficients,
        baseline_method=baseline_method, baseline_window=baseline_window,
        baseline_sigma=baseline_sigma, baseline_percentile=baseline_percentile, floor=floor)
    return TraceResult(fluorescence=fluorescence, neuropil=neuropil, dff=dff, baseline=f0,
                       neuropil_masks=rings, params=params, coefficients=coefficients)


def trace_metrics(result: TraceResult) -> dict[str, np.ndarray]:
    """Per-ROI trace quality: ``snr``, ``skew``, ``noise``, ``dff_peak``.

    ``noise`` is the robust SD of frame-to-frame dF/F changes over sqrt(2)
    (1.4826 MAD); ``dff_peak`` the 99th percentile of dF/F minus its median;
    ``snr = dff_peak / noise``; ``skew`` is the skewness of the neuropil-corrected trace.
    """
    dff = result.dff
    n = len(dff)
    if n == 0 or dff.shape[-1] < 3:
        empty = np.zeros(n, np.float32)
        return {"snr": empty, "skew": empty.copy(), "noise": empty.copy(), "dff_peak": empty.copy()}
    diff = np.diff(dff, axis=-1)
    mad = np.median(np.abs(diff - np.median(diff, axis=-1, keepdims=True)), axis=-1)
    noise = (1.4826 * mad / math.sqrt(2)).astype(np.float32)
    peak = (np.percentile(dff, 99, axis=-1) - np.median(dff, axis=-1)).astype(np.float32)
    from scipy import stats  # 0.2 s of imports a worker making other tables never needs

    skew = stats.skew(result.corrected, axis=-1).astype(np.float32)
    return {"snr": (peak / np.maximum(noise, 1e-12)).astype(np.float32),
                "skew": np.nan_to_num(skew).astype(np.float32), "noise": noise, "dff_peak": peak}
