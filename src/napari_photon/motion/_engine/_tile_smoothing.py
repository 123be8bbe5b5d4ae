"""Cleaning tile displacements: outliers replaced by their neighbourhood's median,
information-weighted averaging with neighbouring tiles, and smoothing over time."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def smooth_tiles(residual: np.ndarray, info: np.ndarray, alpha: float) -> np.ndarray:
    """Information-weighted average of each tile's displacement (n, ny, nx, 2) with its 8
    neighbours (weight ``alpha`` each, diagonals ``alpha / 2``); ``info`` (ny, nx, 2)."""
    if alpha <= 0:
        return residual
    kernel = np.array([[0.5, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.5]]) * alpha
    kernel[1, 1] = 1.0
    k4 = kernel[None, :, :, None]
    wsum = ndimage.convolve(info[None], k4, mode="constant")
    num = ndimage.convolve(residual * info[None], k4, mode="constant")
    return num / np.maximum(wsum, 1e-12)


def smooth_in_time(tile_shifts: np.ndarray, shifts: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over frames of ``tile_shifts - shifts`` (the non-rigid part)."""
    if sigma <= 0 or len(tile_shifts) < 2:
        return tile_shifts
    rest = tile_shifts - shifts[:, None, None, :]
    rest = ndimage.gaussian_filter1d(rest, sigma, axis=0, mode="nearest")
    return (rest + shifts[:, None, None, :]).astype(np.float32)


def reject_outliers(residual: np.ndarray, threshold: float) -> np.ndarray:
    """Replace tile displacements (n, ny, nx, 2) that differ from the median of their 3x3
    neighbourhood by more than ``threshold`` px (per axis) by that median. A smooth warp
    has no such jumps; a tile with little texture or one flashing cell does."""
    if threshold <= 0 or min(residual.shape[1:3]) < 2:
        return residual
    med = ndimage.median_filter(residual, size=(1, 3, 3, 1), mode="nearest")
    bad = np.abs(residual - med) > threshold
    return np.where(bad, med, residual)
