"""The still parts of a realistic field of view: somata (filled and donut, some in
overlapping pairs), blurred out-of-focus somata, processes, blood vessels, the neuropil's
smooth fields and the optics' vignetting. Every function draws from the generator it is
given and returns images in scene coordinates (photons are applied by the caller)."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, optimize

from ._rendering import Patch

_LN4 = math.log(4.0)


def _window(shape: tuple[int, int], y: float, x: float, reach: float) -> tuple[slice, slice]:
    y0, x0 = max(0, int(y - reach)), max(0, int(x - reach))
    y1, x1 = min(shape[0], int(math.ceil(y + reach)) + 1), min(shape[1], int(math.ceil(x + reach)) + 1)
    return slice(y0, y1), slice(x0, x1)


def ellipse(rng: np.random.Generator, r: float) -> tuple[float, float, float]:
    """Semi-axes and orientation ``(a, b, theta)`` of a soma of nominal radius ``r``."""
    return r * rng.uniform(0.85, 1.0), r * rng.uniform(0.75, 1.0), rng.uniform(0, np.pi)


def soma(rng: np.random.Generator, shape: tuple[int, int], y: float, x: float,
         axes: tuple[float, float, float], donut: bool, nucleus_size: tuple[float, float],
         nucleus_brightness: tuple[float, float]) -> tuple[Patch, np.ndarray]:
    """An elliptic soma (``axes`` from :func:`ellipse`) with steep edges (0.25 of its
    peak at the rim), optionally with a dark nucleus. Returns its profile (peak 1) and
    its mask (the whole cell, nucleus included), full frame."""
    a, b, theta = axes
    ys, xs = _window(shape, y, x, 1.6 * max(a, b) + 1)
    dy, dx = np.ogrid[ys, xs]
    dy, dx = dy - y, dx - x
    u = (dy * np.cos(theta) + dx * np.sin(theta)) / a
    v = (-dy * np.sin(theta) + dx * np.cos(theta)) / b
    rho2 = u * u + v * v
    profile = np.exp(-_LN4 * rho2 * rho2)
    if donut:
        size = rng.uniform(*nucleus_size)
        dark = 1.0 - rng.uniform(*nucleus_brightness)
        profile *= 1.0 - dark * np.exp(-math.log(2.0) * (rho2 / size**2) ** 3)
    profile = (profile / profile.max()).astype(np.float32)
    profile[profile < 1e-3] = 0.0
    mask = np.zeros(shape, bool)
    mask[ys, xs] = rho2 <= 1.0
    return Patch(ys, xs, profile), mask


def lens_fraction(r1: float, r2: float, d: float) -> float:
    """Area shared by two disks at distance ``d``, as a fraction of the smaller one."""
    if d >= r1 + r2:
        return 0.0
    small = min(r1, r2)
    if d <= abs(r1 - r2):
        return 1.0
    a1 = r1 * r1 * math.acos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
    a2 = r2 * r2 * math.acos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
    a3 = 0.5 * math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2))
    return (a1 + a2 - a3) / (math.pi * small * small)


def place_somata(rng: np.random.Generator, shape: tuple[int, int], n: int,
                 radius: tuple[float, float], overlap_fraction: float,
                 overlap_area: tuple[float, float], margin: float,
                 allowed: np.ndarray, radii: list[float] | None = None
                 ) -> list[tuple[float, float, float, int]]:
    """``(y, x, r, pair)`` of ``n`` somata: ``pair`` is -1 for a lone cell, else the index
    of its overlapping partner. Lone cells keep 1 px from every other; centres lie where
    ``allowed`` (no vessel) and ``margin + r`` inside the frame. A pair's distance makes
    disks of radius ``r`` share a fraction of ``overlap_area`` of the smaller one; the
    caller draws ellipses of the same area (``r = sqrt(a * b)``) and gives their radii
    in order as ``radii`` (default: drawn from ``radius``)."""
    n_pairs = int(round(overlap_fraction * n / 2))
    cells: list[tuple[float, float, float, int]] = []

    def free(y: float, x: float, r: float, skip: int = -1) -> bool:
        if not allowed[int(y), int(x)]:
            return False
        return all((y - cy) ** 2 + (x - cx) ** 2 > (r + cr + 1.0) ** 2
                   for i, (cy, cx, cr, _) in enumerate(cells) if i != skip)

    def spot(r: float) -> tuple[float, float]:
        lo = margin + r
        return rng.uniform(lo, shape[0] - lo), rng.uniform(lo, shape[1] - lo)

    for _ in range(400 * max(n, 1)):
        if len(cells) >= n:
            break
        r = radii[len(cells)] if radii is not None else rng.uniform(*radius)
        if min(shape) <= 2 * (margin + r):
            break
        y, x = spot(r)
        if len(cells) < 2 * n_pairs and len(cells) + 1 < n:
            r2 = radii[len(cells) + 1] if radii is not None else rng.uniform(*radius)
            target = rng.uniform(*overlap_area)
            d = optimize.brentq(lambda dd: lens_fraction(r, r2, dd) - target,
                                abs(r - r2) + 1e-6, r + r2 - 1e-6)
            angle = rng.uniform(0, 2 * np.pi)
            y2, x2 = y + d * math.sin(angle), x + d * math.cos(angle)
            lo = margin + r2
            if not (lo <= y2 < shape[0] - lo and lo <= x2 < shape[1] - lo):
                continue
            if free(y, x, r) and free(y2, x2, r2):
                i = len(cells)
                cells += [(y, x, r, i + 1), (y2, x2, r2, i)]
            continue
        if free(y, x, r):
            cells.append((y, x, r, -1))
    if len(cells) < n:
        raise ValueError(f"could not place {n} somata of radius {radius} in a {shape} "
                         f"frame (placed {len(cells)}); use fewer cells or a larger frame")
    return cells


def blurred_soma(rng: np.random.Generator, shape: tuple[int, int], y: float, x: float,
                 r: float, blur: float) -> Patch:
    """A soma out of the focal plane: a disk blurred by a Gaussian of ``blur`` px, peak 1."""
    reach = r + 3.5 * blur + 1
    ys, xs = _window(shape, y, x, reach)
    dy, dx = np.ogrid[ys, xs]
    disk = ((dy - y) ** 2 + (dx - x) ** 2 <= r * r).astype(np.float32)
    profile = ndimage.gaussian_filter(disk, blur)
    profile /= max(float(profile.max()), 1e-12)
    profile[profile < 1e-2] = 0.0
    return Patch(ys, xs, profile)


def process(rng: np.random.Generator, shape: tuple[int, int], length: float,
            width: float) -> Patch:
    """A dendrite or axon: a smoothly turning path ``length`` px long, Gaussian cross
    section of sigma ``width`` px, peak 1."""
    y, x = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
    heading = rng.uniform(0, 2 * np.pi)
    turn = 0.0
    points = []
    for _ in range(int(length * 2)):
        points.append((y, x))
        turn = 0.9 * turn + rng.normal(0, 0.02)
        heading += turn
        y, x = y + 0.5 * math.sin(heading), x + 0.5 * math.cos(heading)
    pts = np.asarray(points)
    canvas = np.zeros(shape, np.float32)
    iy, ix = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
    inside = (iy >= 0) & (iy < shape[0]) & (ix >= 0) & (ix < shape[1])
    canvas[iy[inside], ix[inside]] = 1.0
    if not inside.any():
        return Patch.from_image(canvas)
    ys, xs = _window(shape, (iy[inside].min() + iy[inside].max()) / 2,
                     (ix[inside].min() + ix[inside].max()) / 2,
                     max(np.ptp(iy[inside]), np.ptp(ix[inside])) / 2 + 4 * width + 2)
    local = ndimage.gaussian_filter(canvas[ys, xs], width)
    local /= max(float(local.max()), 1e-12)
    local[local < 1e-2] = 0.0
    return Patch(ys, xs, local.astype(np.float32))


def vessel_transmission(rng: np.random.Generator, shape: tuple[int, int], n: int,
                        width: tuple[float, float]) -> np.ndarray:
    """Light passed where blood vessels cross the field (1 elsewhere, 0.1-0.3 at a
    vessel's axis): ``n`` gently curved tubes across the whole frame."""
    h, w = shape
    out = np.ones(shape, np.float32)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    for _ in range(n):
        cy, cx, angle = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w, rng.uniform(0, np.pi)
        along = (yy - cy) * math.sin(angle) + (xx - cx) * math.cos(angle)
        across = -(yy - cy) * math.cos(angle) + (xx - cx) * math.sin(angle)
        bend = rng.uniform(-0.1, 0.1) * max(h, w) * np.sin(along / max(h, w) * rng.uniform(1, 3))
        half = rng.uniform(*width) / 2
        depth = rng.uniform(0.7, 0.9)
        out *= 1.0 - depth * np.exp(-math.log(2.0) * ((across - bend) / half) ** 4)
    return out


def neuropil_fields(rng: np.random.Generator, shape: tuple[int, int], n: int,
                    size: tuple[float, float]) -> np.ndarray:
    """``n`` smooth blobs (Gaussian, sigma in ``size``), peak 1, float32 ``(n, y, x)``."""
    h, w = shape
    yy, xx = np.ogrid[:h, :w]
    out = np.empty((n, h, w), np.float32)
    for k in range(n):
        sigma = rng.uniform(*size)
        cy, cx = rng.uniform(-0.1, 1.1) * h, rng.uniform(-0.1, 1.1) * w
        out[k] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma * sigma))
    return out


def tissue_background(rng: np.random.Generator, shape: tuple[int, int],
                      baseline: tuple[float, float]) -> np.ndarray:
    """Static neuropil brightness: a smooth field spanning ``baseline`` photons with a
    fine mottled texture (+-15%)."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=max(shape) / 8.0)
    field -= field.min()
    field /= max(float(field.max()), 1e-12)
    texture = ndimage.gaussian_filter(rng.standard_normal(shape), 1.5)
    texture *= 0.15 / max(float(texture.std()), 1e-12)
    smooth = baseline[0] + (baseline[1] - baseline[0]) * field
    return (smooth * np.clip(1.0 + texture, 0.5, 1.5)).astype(np.float32)


def vignette(shape: tuple[int, int], strength: float) -> np.ndarray:
    """Gain falling from 1 at the centre to ``1 - strength`` at the corners."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r2 = ((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (((h - 1) / 2) ** 2 + ((w - 1) / 2) ** 2)
    return (1.0 - strength * r2).astype(np.float32)
