"""Summary images of a registered movie, accumulated in one streaming pass.

Per-pixel sums and the products of every pixel with its 8 neighbours (over frames, or over
bins of ``bin_frames`` frames) give the ``mean``, ``max``, ``std``, local ``correlation``
and ``activity`` (shared-signal standard deviation) images, in photon units, with memory
bounded by a block of frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._in_order import read_ahead
from ._moments import NeighbourMoments
from ._photons import photon_view

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SummaryImages:
    """Per-pixel statistics of a movie, accumulated in one streaming pass.

    Attributes
    ----------
    mean, max, std : ndarray of float32, shape (y, x)
        Of the photon counts, over all frames.
    correlation : ndarray of float32
        Temporal correlation of each pixel with the mean of its 8 neighbours, on binned
        variance-stabilized frames (0 for noise, towards 1 inside active cells).
    activity : ndarray of float32 or None
        ``sqrt(max(cov(pixel, neighbour mean) - noise_covariance * mean, 0))`` on binned
        photon counts: photons of shared (signal) standard deviation, proportional to the
        footprints of active cells.
    n_frames, bin_frames : int
        Frames seen and frames per bin.
    noise_covariance : float
        Neighbour covariance per photon of mean brightness that photon noise alone shows
        (0 for raw frames; above 0 when registration interpolated them), estimated as
        the median over the field and removed from ``activity``.
    """

    mean: np.ndarray
    max: np.ndarray
    std: np.ndarray
    correlation: np.ndarray
    activity: np.ndarray | None = None
    n_frames: int = 0
    bin_frames: int = 1
    noise_covariance: float = 0.0

def summary_images(
    movie: Any,
    frames_per_chunk: int = 64,
    progress: ProgressCallback | None = None,
    *,
    bin_frames: int = 1,
    units: str = "auto",
    client: Any = None,
) -> SummaryImages:
    """Mean, max, std, local-correlation and activity images in one streaming pass.

    Parameters
    ----------
    movie : array-like, shape (t, y, x)
        Registered movie, read in blocks of ``frames_per_chunk`` frames: photon counts, or
        a :class:`~napari_photon.storage.PhotonMovie` (its algebraic photon view is used).
    frames_per_chunk : int
        Frames read at once; memory is bounded by a few blocks of this size.
    progress : callable(done, total), optional
        Called after each block with frames done and the total.
    bin_frames : int
        Frames averaged into one bin for the correlation and activity images (1: none).
        Binning averages photon noise away when the indicator is slow compared with the
        frame interval, and costs correlation samples otherwise. Bins run across block
        boundaries, so the result does not depend on ``frames_per_chunk``.
    units : {"auto", "photons", "stabilized"}
        What the values of ``movie`` are; ``"auto"``: a PhotonMovie's photon view, and
        photon counts for anything else.
    client : dask.distributed.Client, optional
        Accumulate on this cluster: a few long spans of frames, each summed by one task
        (which reopens the stored movie), the sums added here. Equal to the threaded
        result up to the order of floating-point sums.

    Returns
    -------
    SummaryImages
    """
    photons = photon_view(movie, units)
    n_frames = len(photons)
    k = max(1, int(bin_frames))
    step = max(1, int(frames_per_chunk))
    if client is not None and n_frames:
        peak, moments, frames = _on_cluster(photons, step, k, progress, client)
    else:
        peak, moments, frames = _in_threads(photons, step, k, progress)
    if n_frames == 0:
        raise ValueError("the movie has no frames")
    return _images(peak, moments, frames, n_frames, k)


def _in_threads(photons: Any, step: int, k: int, progress: ProgressCallback | None
                ) -> tuple[np.ndarray, NeighbourMoments, NeighbourMoments]:
    n_frames = len(photons)
    height, width = photons.shape[-2:]
    peak = np.full((height, width), -np.inf, dtype=np.float32)
    moments = NeighbourMoments((height, width))
    carry = np.zeros((0, height, width), np.float32)
    frames = NeighbourMoments((height, width)) if k > 1 else moments  # per-frame mean and std
    spans = [(t0, min(t0 + step, n_frames)) for t0 in range(0, n_frames, step)]
    for (t0, _), block in read_ahead(photons, spans):
        np.maximum(peak, block.max(axis=0), out=peak)
        if k == 1:
            moments.add(block)
        else:
            frames.add(block, pairs=False)
            block = np.concatenate([carry, block]) if len(carry) else block
            n_bins = len(block) // k
            carry = block[n_bins * k :].copy()
            if n_bins:
                binned = block[: n_bins * k].reshape(n_bins, k, height, width)
                moments.add(binned.sum(axis=1) * np.float32(1 / k))
        if progress is not None:
            progress(min(t0 + step, n_frames), n_frames)
    return peak, moments, frames


def _span_sums(photons: Any, t0: int, t1: int, step: int, k: int,
               offsets: tuple[np.ndarray, np.ndarray]
               ) -> tuple[np.ndarray, NeighbourMoments, NeighbourMoments]:
    """The sums of frames ``t0:t1`` (whole bins), read ``step`` frames at a time."""
    shape = tuple(photons.shape[-2:])
    peak = np.full(shape, -np.inf, dtype=np.float32)
    moments = NeighbourMoments(shape, offset=offsets[0])
    frames = NeighbourMoments(shape, offset=offsets[1]) if k > 1 else moments
    for a in range(t0, t1, step):
        block = np.asarray(photons[a:min(a + step, t1)], dtype=np.float32)
        np.maximum(peak, block.max(axis=0), out=peak)
        if k == 1:
            moments.add(block)
            continue
        frames.add(block, pairs=False)
        n_bins = len(block) // k
        if n_bins:
            binned = block[: n_bins * k].reshape(n_bins, k, *shape)
            moments.add(binned.sum(axis=1) * np.float32(1 / k))
    return peak, moments, frames  # frames is moments when k == 1


def _on_cluster(photons: Any, step: int, k: int, progress: ProgressCallback | None,
                client: Any) -> tuple[np.ndarray, NeighbourMoments, NeighbourMoments]:
    from .._blocks import run_blocks

    n_frames = len(photons)
    step = max(k, step // k * k)  # every read holds whole bins: no bin crosses a span
    first = np.asarray(photons[:step], dtype=np.float32)
    n_bins = len(first) // k
    binned_first = (first[: n_bins * k].reshape(n_bins, k, *first.shape[1:]).mean(axis=1)
                    if n_bins else first)
    offsets = (binned_first.mean(axis=0), first.mean(axis=0))
    n_tasks = 2 * max(1, sum(client.nthreads().values()))
    per = max(step, -(-n_frames // n_tasks) // step * step)
    spans = [(t0, min(t0 + per, n_frames)) for t0 in range(0, n_frames, per)]
    parts = run_blocks(_span_sums, photons, spans, (step, k, offsets), progress=progress,
                       client=client)
    peak, moments, frames = parts[0]
    for more_peak, more_moments, more_frames in parts[1:]:
        np.maximum(peak, more_peak, out=peak)
        moments.merge(more_moments)
        if k > 1:
            frames.merge(more_frames)
    # a cluster serializes a result's items apart: "frames is moments" does not survive
    return peak, moments, moments if k == 1 else frames


def _images(peak: np.ndarray, moments: NeighbourMoments, frames: NeighbourMoments,
            n_frames: int, k: int) -> SummaryImages:
    mean, std = frames.mean_sd()
    binned_mean, cov, corr = moments.result()
    # Interpolation during registration mixes neighbouring pixels' photon noise: a noise
    # covariance proportional to brightness, the same over the field for rigid shifts.
    # Its level is the median of cov / mean (most pixels hold no cell); removed here.
    floor = 0.0
    if moments.n > 1:
        floor = max(0.0, float(np.median(cov / np.maximum(binned_mean, 1e-6))))
    activity = np.sqrt(np.maximum(cov - floor * binned_mean, 0))
    return SummaryImages(
        mean=mean.astype(np.float32),
        max=peak,
        std=std.astype(np.float32),
        correlation=corr.astype(np.float32),
        activity=activity.astype(np.float32),
        n_frames=int(n_frames),
        bin_frames=k,
        noise_covariance=floor,
    )
