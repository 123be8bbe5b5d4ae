"""The piecewise method's tiles: an overlapping grid over the frame, and cutting a binned
frame into it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._settings import Settings


@dataclass(frozen=True)
class TileGrid:
    """Overlapping square tiles covering the frame.

    ``starts_y``/``starts_x`` are top/left corners (movie px), ``centers_y``/``centers_x``
    the tile centres, ``size`` the tile edge.
    """

    size: int
    starts_y: np.ndarray
    starts_x: np.ndarray

    @property
    def centers_y(self) -> np.ndarray:
        return self.starts_y + (self.size - 1) / 2.0

    @property
    def centers_x(self) -> np.ndarray:
        return self.starts_x + (self.size - 1) / 2.0

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.starts_y), len(self.starts_x)


def tile_grid(height: int, width: int, size: int, overlap: int, binning: int) -> TileGrid:
    """Evenly spread tiles with at least ``overlap`` px in common (corners on the binned
    grid, so binned tiles are exact sub-blocks)."""

    def starts(n: int) -> np.ndarray:
        stride = max(1, size - overlap)
        count = max(1, math.ceil((n - size) / stride) + 1)
        s = np.linspace(0, n - size, count)
        return (np.floor(s / binning) * binning).astype(int)

    return TileGrid(size=int(size), starts_y=starts(height), starts_x=starts(width))


def cut_tiles(frame_b: np.ndarray, grid: TileGrid, binning: int) -> np.ndarray:
    """The tiles of one binned frame, (ny*nx, tb, tb) float32."""
    tb = grid.size // binning
    ys, xs = grid.starts_y // binning, grid.starts_x // binning
    return np.stack([frame_b[y:y + tb, x:x + tb] for y in ys for x in xs]).astype(np.float32)


def tile_margin(settings: Settings) -> int:
    """Zero border (binned px) of the tile window: covers the tile search radius."""
    return math.ceil(settings.max_tile_shift / settings.binning) + 2
