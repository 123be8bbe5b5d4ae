"""The still scene: a smooth background and elliptic somata placed without overlap."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

MASK_FRACTION = 0.25  # masks are footprint > this fraction of its peak


def smooth_background(rng: np.random.Generator, shape: tuple[int, int],
                      baseline: tuple[float, float]) -> np.ndarray:
    """Smooth random field rescaled to span ``baseline[0]..baseline[1]`` photons."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=max(shape) / 8.0)
    field -= field.min()
    field /= max(float(field.max()), 1e-12)
    return (baseline[0] + (baseline[1] - baseline[0]) * field).astype(np.float32)


def place_cells(rng: np.random.Generator, shape: tuple[int, int], n: int, margin: float,
                radius: tuple[float, float]) -> list[tuple[float, float, float]]:
    """Random non-overlapping (y, x, r) at least ``margin + r`` from the borders."""
    cells: list[tuple[float, float, float]] = []
    for _ in range(200 * max(n, 1)):
        if len(cells) == n:
            return cells
        r = rng.uniform(*radius)
        if min(shape) <= 2 * (lo := margin + r):
            break
        y, x = rng.uniform(lo, shape[0] - lo), rng.uniform(lo, shape[1] - lo)
        if all((y - cy) ** 2 + (x - cx) ** 2 > (r + cr + 2.0) ** 2 for cy, cx, cr in cells):
            cells.append((y, x, r))
    if len(cells) < n:
        raise ValueError(f"could not place {n} non-overlapping cells of radius {radius} "
                         f"in a {shape} frame with margin {margin}; use fewer or smaller cells")
    return cells


def soma_footprint(rng: np.random.Generator, shape: tuple[int, int], y: float, x: float,
                   r: float) -> np.ndarray:
    """Elliptic Gaussian soma with semi-axes about ``r`` (reaching 0.25 near its rim)."""
    a, b, theta = r * rng.uniform(0.85, 1.0), r * rng.uniform(0.7, 1.0), rng.uniform(0, np.pi)
    dy, dx = np.ogrid[: shape[0], : shape[1]]
    dy, dx = dy - y, dx - x
    u = (dy * np.cos(theta) + dx * np.sin(theta)) / a
    v = (-dy * np.sin(theta) + dx * np.cos(theta)) / b
    f = np.exp(-math.log(1.0 / MASK_FRACTION) * (u * u + v * v))
    f /= f.max()  # peak exactly 1 on the pixel grid
    f[f < 1e-3] = 0.0
    return f.astype(np.float32)
