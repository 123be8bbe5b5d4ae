"""Dense displacement fields from per-tile shifts: spline interpolation between tile centres,
as one matrix product per axis."""

from __future__ import annotations

import numpy as np

from ._settings import Settings
from ._tiles import TileGrid, tile_grid


def interpolation_matrix(centers: np.ndarray, n: int) -> np.ndarray:
    """(n, len(centers)) matrix evaluating a not-a-knot cubic spline (linear for fewer
    than 4 knots) through values at ``centers`` at pixels 0..n-1; constant beyond the
    outermost centres (extrapolating noisy end slopes did worse)."""
    k = len(centers)
    if k == 1:
        return np.ones((n, 1))
    c = centers.astype(np.float64)
    from scipy import interpolate  # 0.1 s of imports that rigid registration never needs

    spline = interpolate.make_interp_spline(c, np.eye(k), k=min(3, k - 1))
    return spline(np.clip(np.arange(n, dtype=np.float64), c[0], c[-1]))


class FieldInterpolator:
    """Upsamples per-tile shifts (n, ny, nx, 2) to dense fields (n, 2, y, x)."""

    def __init__(self, grid: TileGrid, shape: tuple[int, int]) -> None:
        self.my = interpolation_matrix(grid.centers_y, shape[0]).astype(np.float32)
        self.mx = interpolation_matrix(grid.centers_x, shape[1]).astype(np.float32)

    @classmethod
    def for_settings(cls, settings: Settings, shape: tuple[int, int]) -> FieldInterpolator:
        """The interpolator of the tile grid that ``settings`` lay over frames of ``shape``."""
        h, w = shape
        s = settings
        return cls(tile_grid(h, w, s.tile_size, s.tile_overlap, s.binning), shape)

    def __call__(self, tile_shifts: np.ndarray) -> np.ndarray:
        t = np.asarray(tile_shifts, np.float32)  # (n, ny, nx, 2)
        # (h, ny) @ (n, 2, ny, nx) @ (nx, w)
        g = np.moveaxis(t, -1, 1)
        return np.matmul(np.matmul(self.my, g), self.mx.T)
