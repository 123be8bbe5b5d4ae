"""Streaming moments of every pixel and its 8 neighbours over time (for the summary images).

Photon noise is independent from pixel to pixel, so the temporal covariance of a pixel with
its neighbours holds the shared signal only: a cell's calcium activity.
"""

from __future__ import annotations

import numpy as np

# (dy, dx) of the 4 neighbour directions; with their opposites they give the 8 neighbours
_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _pair_slices(dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices (of p, of q = p + (dy, dx)) over all pixel pairs in the frame."""
    def axis(d: int) -> tuple[slice, slice]:
        if d > 0:
            return slice(None, -d), slice(d, None)
        if d < 0:
            return slice(-d, None), slice(None, d)
        return slice(None), slice(None)

    (py, qy), (px, qx) = axis(dy), axis(dx)
    return (py, px), (qy, qx)


class NeighbourMoments:
    """Sums over bins for the temporal covariance of every pixel with its 8 neighbours.

    Parameters
    ----------
    shape : (int, int)
        Frame shape (y, x).
    offset : ndarray (y, x), optional
        The per-pixel value the sums are taken from; default the first block's mean.
        Sums made apart (on a cluster) with one offset are added with :meth:`merge`.
    """

    def __init__(self, shape: tuple[int, int], offset: np.ndarray | None = None) -> None:
        self.shape = shape
        self.n = 0
        self.offset: np.ndarray | None = offset
        self.sx = np.zeros(shape)
        self.sxx = np.zeros(shape)
        self.pairs = [np.zeros(shape)[_pair_slices(*d)[0]] for d in _DIRECTIONS]

    def add(self, x: np.ndarray, pairs: bool = True) -> None:
        """Add a block of bins ``x`` (t, y, x); ``pairs=False``: per-pixel sums only."""
        # sums of deviations from a fixed per-pixel offset (the first bins' mean): the
        # same covariances, without float32 cancellation in the per-block sums
        if self.offset is None:
            self.offset = x.mean(axis=0)
        x = x - self.offset
        self.n += len(x)
        self.sx += x.sum(axis=0)
        self.sxx += np.einsum("tyx,tyx->yx", x, x)  # float32 within a block, float64 across
        for total, d in zip(self.pairs if pairs else (), _DIRECTIONS):
            p, q = _pair_slices(*d)
            total += np.einsum("tyx,tyx->yx", x[(slice(None), *p)], x[(slice(None), *q)])

    def merge(self, other: NeighbourMoments) -> None:
        """Add the sums of ``other``, accumulated from the same offset over other bins."""
        if other.n == 0:
            return
        if self.n == 0 and self.offset is None:
            self.offset = other.offset
        self.n += other.n
        self.sx += other.sx
        self.sxx += other.sxx
        for total, more in zip(self.pairs, other.pairs):
            total += more

    def mean_sd(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each pixel over the bins."""
        n = max(self.n, 1)
        dev = self.sx / n
        sd = np.sqrt(np.maximum(self.sxx / n - dev * dev, 0))
        return (dev if self.offset is None else dev + self.offset), sd

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, covariance, correlation) of each pixel with its neighbours (averaged)."""
        n = max(self.n, 1)
        mean = self.sx / n  # of the deviations from the offset
        sd = np.sqrt(np.maximum(self.sxx / n - mean * mean, 0))
        cov_sum = np.zeros(self.shape)
        corr_sum = np.zeros(self.shape)
        count = np.zeros(self.shape)
        for total, d in zip(self.pairs, _DIRECTIONS):
            p, q = _pair_slices(*d)
            cov = total / n - mean[p] * mean[q]
            corr = cov / np.maximum(sd[p] * sd[q], 1e-12)
            for side in (p, q):
                cov_sum[side] += cov
                corr_sum[side] += corr
                count[side] += 1
        if self.offset is not None:
            mean = mean + self.offset
        return mean, cov_sum / count, np.clip(corr_sum / count, -1, 1)

