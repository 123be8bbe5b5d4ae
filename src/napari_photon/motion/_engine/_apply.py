"""Applying motion to frames: rigid sub-pixel shifts (cubic convolution or Fourier) and dense
displacement fields (spline remap)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import _fourier as F
from .._interpolate import cubic_shift_frames


def apply_rigid(frames: np.ndarray, shifts: np.ndarray, interpolation: str = "cubic",
                out: np.ndarray | None = None) -> np.ndarray:
    """``out[t](p) = frames[t](p - shifts[t])``, nearest-edge filling (see
    :class:`Settings` ``interpolation``)."""
    frames = np.asarray(frames, np.float32)
    shifts = np.asarray(shifts, np.float64)
    if interpolation == "fourier":
        return F.shift_frames(frames, shifts, out=out)
    return cubic_shift_frames(frames, shifts, out=out)


def apply_field(frames: np.ndarray, fields: np.ndarray, order: int = 3) -> np.ndarray:
    """``out[t](p) = frames[t](p - fields[t, :, p])`` with spline interpolation of
    ``order`` and nearest-edge filling (``scipy.ndimage.map_coordinates``)."""
    frames = np.asarray(frames, np.float32)
    n, h, w = frames.shape
    grid = np.mgrid[:h, :w].astype(np.float32)
    out = np.empty_like(frames)
    for i in range(n):
        src = frames[i]
        if order > 1:
            src = ndimage.spline_filter(src, order=order, output=np.float32, mode="nearest")
        ndimage.map_coordinates(src, grid - fields[i], output=out[i], order=order,
                                mode="nearest", prefilter=False)
    return out
