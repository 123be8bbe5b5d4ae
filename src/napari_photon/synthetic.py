"""Ground-truth synthetic two-photon movies: photon counts with known cells and motion.

The scene is a smooth background plus elliptic somata whose fluorescence follows
calcium transients. Every frame shows the noiseless scene (expected photons per pixel)
translated by a rigid sub-pixel shift (bilinear interpolation on a padded canvas, so no
wrap-around), optionally warped by a smooth non-rigid displacement field on top of it
(``nonrigid=``), and is then Poisson sampled. :func:`make_hard_movie` gives the denser,
dimmer, faster-moving benchmark variant. Everything is generated from one seeded
``numpy.random.Generator`` in batches of frames, so memory stays a small multiple of
the output.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from scipy import ndimage, signal

from ._frames import Frames, frames_per_block

__all__ = [
    "HARD",
    "SyntheticMovie",
    "SyntheticVolume",
    "make_hard_movie",
    "make_movie",
    "make_volume",
    "write_tiff",
]

_MASK_FRACTION = 0.25  # masks are footprint > this fraction of its peak
_BATCH_PIXELS = 1 << 22  # canvas pixels rendered per batch of frames


@dataclass
class SyntheticMovie(Frames):
    """A synthetic movie with its ground truth; it is also the
    :class:`~napari_photon._frames.FrameSource` of its counts (``shape``, ``movie[t0:t1]``,
    ``to_dask()``... are those of :attr:`movie`).

    Attributes
    ----------
    movie : numpy.ndarray
        Photon counts, shape ``(t, y, x)`` (``(t, z, y, x)`` for volumes), integer dtype.
    shifts : numpy.ndarray
        float32 ``(t, 2)``: ``(dy, dx)`` displacement of frame ``t``; frame ``t`` shows the
        scene translated by ``shifts[t]``, registration must apply ``-shifts[t]``.
    footprints : numpy.ndarray
        float32 ``(n, y, x)`` (``(n, z, y, x)`` for volumes), spatial profiles, peak 1,
        in scene coordinates (= frame coordinates at zero shift).
    masks : numpy.ndarray
        bool, same shape as ``footprints``: footprint > 0.25 of its peak.
    traces : numpy.ndarray
        float32 ``(n, t)``: fluorescence each cell adds at its footprint peak, in photons
        per pixel per frame (resting brightness plus calcium transients).
    background : numpy.ndarray
        float32 ``(y, x)`` (``(z, y, x)`` for volumes): baseline photon rate image.
    frame_rate : float
        Frames (volumes) per second.
    warp_basis : numpy.ndarray or None
        float32 ``(k, 2, y, x)``: smooth displacement modes of the non-rigid warp (None for
        rigid movies).
    warp_weights : numpy.ndarray or None
        float32 ``(t, k)``: weight of each mode in each frame. The full displacement of
        frame ``t`` at pixel ``p`` is ``shifts[t] + sum_j warp_weights[t, j] *
        warp_basis[j, :, p]``: frame ``t`` at ``p`` shows the scene at ``p - displacement``
        (see :meth:`displacement`).
    """

    movie: np.ndarray
    shifts: np.ndarray
    footprints: np.ndarray
    masks: np.ndarray
    traces: np.ndarray
    background: np.ndarray
    frame_rate: float
    warp_basis: np.ndarray | None = None
    warp_weights: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.movie.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.movie.dtype

    @property
    def frames_per_chunk(self) -> int:
        return min(self.shape[0], frames_per_block(self.shape[1:]))

    def __getitem__(self, index: Any) -> np.ndarray:
        return self.movie[index]

    def displacement(self, frames: Any = None) -> np.ndarray:
        """Ground-truth displacement field, float32 ``(n, 2, y, x)`` (rigid plus warp).

        Parameters
        ----------
        frames : int, slice or sequence of int, optional
            Which frames (default: all; mind the memory, 2 floats per pixel per frame).
            Registration must apply minus this field (up to a constant offset).
        """
        index = np.arange(len(self.shifts))[slice(None) if frames is None else frames]
        index = np.atleast_1d(index)
        shape = self.movie.shape[-2:]
        out = np.empty((len(index), 2, *shape), np.float32)
        out[:] = self.shifts[index][:, :, None, None]
        if self.warp_basis is not None and self.warp_weights is not None:
            out += np.tensordot(self.warp_weights[index], self.warp_basis, axes=(1, 0))
        return out


@dataclass
class SyntheticVolume(SyntheticMovie):
    """A synthetic volume movie; ``plane_spacing`` is the distance between planes (um)."""

    plane_spacing: float = 10.0


def _background(rng: np.random.Generator, shape: tuple[int, int],
                baseline: tuple[float, float]) -> np.ndarray:
    """Smooth random field rescaled to span ``baseline[0]..baseline[1]`` photons."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=max(shape) / 8.0)
    field -= field.min()
    field /= max(float(field.max()), 1e-12)
    return (baseline[0] + (baseline[1] - baseline[0]) * field).astype(np.float32)


def _place_cells(rng: np.random.Generator, shape: tuple[int, int], n: int, margin: float,
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


def _footprint(rng: np.random.Generator, shape: tuple[int, int], y: float, x: float,
               r: float) -> np.ndarray:
    """Elliptic Gaussian soma with semi-axes about ``r`` (reaching 0.25 near its rim)."""
    a, b, theta = r * rng.uniform(0.85, 1.0), r * rng.uniform(0.7, 1.0), rng.uniform(0, np.pi)
    dy, dx = np.ogrid[: shape[0], : shape[1]]
    dy, dx = dy - y, dx - x
    u = (dy * np.cos(theta) + dx * np.sin(theta)) / a
    v = (-dy * np.sin(theta) + dx * np.cos(theta)) / b
    f = np.exp(-math.log(1.0 / _MASK_FRACTION) * (u * u + v * v))
    f /= f.max()  # peak exactly 1 on the pixel grid
    f[f < 1e-3] = 0.0
    return f.astype(np.float32)


def _traces(rng: np.random.Generator, n_frames: int, frame_rate: float,
            local_baseline: np.ndarray) -> np.ndarray:
    """Resting brightness plus spikes convolved with a rise/decay calcium kernel."""
    n = local_baseline.size
    rate_hz = rng.uniform(0.05, 0.5, n)
    spikes = rng.poisson((rate_hz / frame_rate)[:, None], (n, n_frames)).astype(np.float32)
    t = np.arange(int(math.ceil(5.0 * frame_rate)) + 1) / frame_rate
    out = np.empty((n, n_frames), np.float32)
    for i, decay in enumerate(rng.uniform(0.5, 1.0, n)):
        kernel = np.exp(-t / decay) - np.exp(-t / 0.05)
        out[i] = signal.fftconvolve(spikes[i], kernel / kernel.max())[:n_frames]
    np.maximum(out, 0.0, out=out)  # fftconvolve leaves tiny negative round-off
    resting = rng.uniform(0.2, 0.5, n) * local_baseline
    amplitude = rng.uniform(0.5, 2.0, n) * (local_baseline + resting)  # dF/F per spike
    return (resting[:, None] + amplitude[:, None] * out).astype(np.float32)


def _shifts(rng: np.random.Generator, n_frames: int, max_shift: float,
            frame_rate: float, jump_rate: float = 0.2, jump_size: float = 0.25) -> np.ndarray:
    """Smooth mean-reverting random walk plus occasional jumps, bounded by ``max_shift``.

    Jumps happen ``jump_rate`` times per second on average; each is a step of up to
    ``jump_size * max_shift`` per axis that then decays with the walk's ~3 s memory.
    """
    if max_shift <= 0:
        return np.zeros((n_frames, 2), np.float32)
    phi = [1.0, -max(0.0, 1.0 - 1.0 / (3.0 * frame_rate))]  # AR(1), ~3 s memory
    walk = signal.lfilter([1.0], phi, rng.standard_normal((n_frames, 2)), axis=0)
    walk = ndimage.gaussian_filter1d(walk, sigma=2.0, axis=0)
    walk *= (max_shift / 4.0) / max(float(walk.std()), 1e-12)
    jumps = ((rng.random((n_frames, 1)) < jump_rate / frame_rate)
             * rng.uniform(-1, 1, (n_frames, 2)))
    walk += signal.lfilter([1.0], phi, jumps * (max_shift * jump_size), axis=0)
    return (max_shift * np.tanh(walk / max_shift)).astype(np.float32)


def _warp(rng: np.random.Generator, n_frames: int, shape: tuple[int, int], amplitude: float,
          frame_rate: float, n_modes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Smooth non-rigid warp: ``n_modes`` low-frequency displacement fields (wavelengths of
    1-2.5 frame sizes, random directions and phases), each weighted in time by a bounded,
    zero-mean random walk in [-1, 1]. The modes are scaled so that the largest displacement
    the movie reaches along either axis is ``amplitude``.
    """
    h, w = shape
    yy, xx = np.meshgrid(np.arange(h) / max(h, w), np.arange(w) / max(h, w), indexing="ij")
    share = rng.dirichlet(np.full(n_modes, 2.0)) * amplitude
    basis = np.empty((n_modes, 2, h, w), np.float32)
    for j in range(n_modes):
        for axis in range(2):
            k = rng.uniform(0.4, 1.0)  # cycles per frame size
            theta = rng.uniform(0, 2 * np.pi)
            phase = rng.uniform(0, 2 * np.pi)
            wave = np.cos(2 * np.pi * k * (np.cos(theta) * yy + np.sin(theta) * xx) + phase)
            basis[j, axis] = share[j] * wave
    phi = [1.0, -max(0.0, 1.0 - 1.0 / (2.0 * frame_rate))]  # ~2 s memory
    walk = signal.lfilter([1.0], phi, rng.standard_normal((n_frames, n_modes)), axis=0)
    walk = ndimage.gaussian_filter1d(walk, sigma=2.0, axis=0)
    walk -= walk.mean(axis=0)
    walk /= max(float(walk.std()), 1e-12)
    weights = np.tanh(walk).astype(np.float32)
    # rescale so the largest displacement reached (per axis, on a coarse grid) is amplitude
    coarse = basis[:, :, :: max(1, h // 64), :: max(1, w // 64)]
    reached = max(float(np.abs(np.tensordot(weights[t0:t0 + 256], coarse, axes=(1, 0))).max())
                  for t0 in range(0, n_frames, 256))
    basis *= np.float32(amplitude / max(reached, 1e-12))
    return basis, weights


def _render(background: np.ndarray, footprints: np.ndarray, traces: np.ndarray,
            shifts: np.ndarray, pad: int, rng: np.random.Generator,
            dtype: np.dtype, warp: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Shift (and warp) the expected-rate frames bilinearly (in batches), Poisson sample."""
    h, w = background.shape
    n_frames = traces.shape[1]
    bg = np.pad(background, pad, mode="reflect")
    patches = []  # (padded row slice, padded col slice, patch) per cell
    for f in footprints:
        ys, xs = ndimage.find_objects((f > 0).astype(np.int8))[0]
        patches.append((slice(ys.start + pad, ys.stop + pad),
                        slice(xs.start + pad, xs.stop + pad), f[ys, xs]))
    out = np.empty((n_frames, h, w), dtype)
    top = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else None
    batch = max(1, _BATCH_PIXELS // bg.size)
    rate = np.empty((batch, h, w), np.float32)
    for t0 in range(0, n_frames, batch):
        t1 = min(t0 + batch, n_frames)
        scene = np.repeat(bg[None], t1 - t0, axis=0)
        for i, (ys, xs, p) in enumerate(patches):
            scene[:, ys, xs] += traces[i, t0:t1, None, None] * p
        # frame(y, x) = scene(y - dy, x - dx): source origin at pad - shift.
        if warp is not None:
            _warp_batch(scene, rate[: t1 - t0], shifts[t0:t1], warp[0], warp[1][t0:t1], pad)
            counts = rng.poisson(rate[: t1 - t0])
            if top is not None:
                np.minimum(counts, top, out=counts)
            out[t0:t1] = counts
            continue
        src = pad - shifts[t0:t1].astype(np.float64)
        origin = np.floor(src).astype(int)
        frac = (src - origin).astype(np.float32)
        for k in range(t1 - t0):
            (iy, ix), (fy, fx), r, s = origin[k], frac[k], rate[k], scene[k]
            np.multiply(s[iy:iy + h, ix:ix + w], (1 - fy) * (1 - fx), out=r)
            r += s[iy:iy + h, ix + 1:ix + 1 + w] * ((1 - fy) * fx)
            r += s[iy + 1:iy + 1 + h, ix:ix + w] * (fy * (1 - fx))
            r += s[iy + 1:iy + 1 + h, ix + 1:ix + 1 + w] * (fy * fx)
        counts = rng.poisson(rate[: t1 - t0])
        if top is not None:
            np.minimum(counts, top, out=counts)
        out[t0:t1] = counts
    return out


def _warp_batch(scene: np.ndarray, rate: np.ndarray, shifts: np.ndarray, basis: np.ndarray,
                weights: np.ndarray, pad: int) -> None:
    """``rate[k](p) = scene[k](p + pad - displacement_k(p))``, bilinear (map_coordinates)."""
    h, w = rate.shape[-2:]
    grid = np.mgrid[:h, :w].astype(np.float32) + np.float32(pad)
    for k in range(len(rate)):
        field = np.tensordot(weights[k], basis, axes=(0, 0))  # (2, h, w)
        field += shifts[k][:, None, None]
        ndimage.map_coordinates(scene[k], grid - field, output=rate[k], order=1,
                                mode="nearest", prefilter=False)


def _plane(rng: np.random.Generator, shape: tuple[int, int], n_neurons: int,
           baseline: tuple[float, float], max_shift: float, radius: tuple[float, float],
           frame_rate: float, shifts: np.ndarray, dtype: np.dtype,
           nonrigid: float = 0.0) -> tuple[np.ndarray, ...]:
    """Generate one plane: (movie, footprints, traces, background, warp or None)."""
    reach = max_shift + max(nonrigid, 0.0)
    pad = math.ceil(reach) + 2
    background = _background(rng, shape, baseline)
    cells = _place_cells(rng, shape, n_neurons, margin=reach + 1.0, radius=radius)
    footprints = np.zeros((n_neurons, *shape), np.float32)
    for i, (y, x, r) in enumerate(cells):
        footprints[i] = _footprint(rng, shape, y, x, r)
    local = np.array([background[round(y), round(x)] for y, x, _ in cells], np.float32)
    traces = _traces(rng, shifts.shape[0], frame_rate, local)
    warp = None
    if nonrigid > 0:
        warp = _warp(rng, shifts.shape[0], shape, float(nonrigid), frame_rate)
    movie = _render(background, footprints, traces, shifts, pad, rng, dtype, warp)
    return movie, footprints, traces, background, warp


def make_movie(
    n_frames: int = 1000,
    shape: tuple[int, int] = (512, 512),
    n_neurons: int = 60,
    baseline: tuple[float, float] = (5.0, 50.0),
    max_shift: float = 8.0,
    neuron_radius: tuple[float, float] = (5.0, 8.0),
    frame_rate: float = 30.0,
    seed: int | None = 0,
    dtype: Any = np.uint16,
    *,
    nonrigid: float = 0.0,
    jump_rate: float = 0.2,
    jump_size: float = 0.25,
) -> SyntheticMovie:
    """Simulate a two-photon movie of photon counts with known cells, traces and motion.

    Parameters
    ----------
    n_frames, shape : int, tuple of int
        Movie size ``(n_frames, *shape)``.
    n_neurons : int
        Number of somata, placed at random without overlap, more than ``max_shift`` from
        the borders.
    baseline : (float, float)
        Range of the smooth background, photons per pixel per frame.
    max_shift : float
        Bound on the rigid motion ``|dy|, |dx|`` in pixels (sub-pixel random walk with
        occasional jumps).
    neuron_radius : (float, float)
        Range of soma radii in pixels.
    frame_rate : float
        Frames per second (sets spike rates and calcium decay, 0.5-1 s).
    seed : int or None
        Seed of ``numpy.random.default_rng``; equal seeds give identical movies.
    dtype : numpy dtype
        Integer dtype of the counts (values are clipped to its range).
    nonrigid : float, keyword-only
        Largest displacement in pixels (per axis, about: checked on a coarse grid) of a
        smooth non-rigid warp added on top of the rigid motion: a few low-frequency displacement modes (wavelengths of 1-2.5 frame sizes)
        with zero-mean, slowly varying weights, so the displacement varies across the
        field and over time. 0 (default) keeps the movie rigid. The ground truth is in
        ``warp_basis``/``warp_weights``; :meth:`SyntheticMovie.displacement` evaluates it.
        Cells stay more than ``max_shift + nonrigid`` from the borders.
    jump_rate, jump_size : float, keyword-only
        Sudden steps of the rigid motion: ``jump_rate`` per second on average, each up to
        ``jump_size * max_shift`` per axis (defaults 0.2 and 0.25).

    Returns
    -------
    SyntheticMovie
        Counts and ground truth. Each spike adds a transient of peak 0.5-2 times the
        cell's local baseline (background plus resting brightness).
    """
    if n_frames < 1 or len(shape) != 2:
        raise ValueError(f"need n_frames >= 1 and a 2D shape, got {n_frames}, {shape}")
    rng = np.random.default_rng(seed)
    shifts = _shifts(rng, n_frames, float(max_shift), frame_rate, float(jump_rate),
                     float(jump_size))
    movie, footprints, traces, background, warp = _plane(
        rng, tuple(shape), n_neurons, baseline, float(max_shift), neuron_radius,
        frame_rate, shifts, np.dtype(dtype), float(nonrigid))
    return SyntheticMovie(movie=movie, shifts=shifts, footprints=footprints,
                          masks=footprints > _MASK_FRACTION, traces=traces,
                          background=background, frame_rate=float(frame_rate),
                          warp_basis=None if warp is None else warp[0],
                          warp_weights=None if warp is None else warp[1])


#: The denser, dimmer, faster-moving benchmark variant: 150 neurons, baseline 2-8 photons
#: per pixel per frame, rigid shifts up to 12 px with frequent large jumps.
HARD: dict[str, Any] = {"n_neurons": 150, "baseline": (2.0, 8.0), "max_shift": 12.0,
                        "jump_rate": 0.5, "jump_size": 0.6}


def make_hard_movie(n_frames: int = 1000, shape: tuple[int, int] = (512, 512),
                    seed: int | None = 0, **overrides: Any) -> SyntheticMovie:
    """:func:`make_movie` with the :data:`HARD` settings (any of them can be overridden).

    Jumps happen 0.5 times per second and reach up to 0.6 x 12 px per axis; the shifts
    stay within 12 px (``tanh`` bound).
    """
    return make_movie(n_frames=n_frames, shape=shape, seed=seed, **{**HARD, **overrides})


def make_volume(
    n_frames: int = 100,
    n_planes: int = 3,
    shape: tuple[int, int] = (128, 128),
    plane_spacing: float = 10.0,
    seed: int | None = 0,
    *,
    n_neurons: int = 15,
    baseline: tuple[float, float] = (5.0, 50.0),
    max_shift: float = 4.0,
    neuron_radius: tuple[float, float] = (5.0, 8.0),
    frame_rate: float = 10.0,
    dtype: Any = np.uint16,
) -> SyntheticVolume:
    """Simulate a volume movie ``(t, z, y, x)``: independent planes, shared rigid motion.

    ``n_neurons`` cells in total are split evenly over the planes in index order (the
    first ones in plane 0); each cell lives in one plane, so ``footprints``/``masks`` have shape ``(n, z, y, x)`` and are zero
    outside that plane. Other parameters are as in :func:`make_movie`; ``frame_rate`` is
    in volumes per second.
    """
    if n_planes < 1:
        raise ValueError(f"n_planes must be >= 1, got {n_planes}")
    rng = np.random.default_rng(seed)
    shifts = _shifts(rng, n_frames, float(max_shift), frame_rate)
    per_plane = [len(a) for a in np.array_split(np.arange(n_neurons), n_planes)]
    movie = np.empty((n_frames, n_planes, *shape), np.dtype(dtype))
    footprints = np.zeros((n_neurons, n_planes, *shape), np.float32)
    traces = np.empty((n_neurons, n_frames), np.float32)
    background = np.empty((n_planes, *shape), np.float32)
    first = 0
    for z, n_z in enumerate(per_plane):
        m, f, tr, bg, _ = _plane(rng, tuple(shape), n_z, baseline, float(max_shift),
                                 neuron_radius, frame_rate, shifts, np.dtype(dtype))
        movie[:, z], background[z] = m, bg
        footprints[first:first + n_z, z], traces[first:first + n_z] = f, tr
        first += n_z
    return SyntheticVolume(movie=movie, shifts=shifts, footprints=footprints,
                           masks=footprints > _MASK_FRACTION, traces=traces,
                           background=background, frame_rate=float(frame_rate),
                           plane_spacing=float(plane_spacing))


def write_tiff(
    path: str | Path,
    movie: Any,
    frame_rate: float | None = None,
    properties: dict[str, str] | None = None,
    plane_spacing: float | None = None,
) -> Path:
    """Write a ``(t, y, x)`` or ``(t, z, y, x)`` stack as an ImageJ hyperstack TIFF.

    Parameters
    ----------
    path : str or Path
        Output file.
    movie : array_like
        numpy array (written directly) or any array with ``shape``/``dtype`` and slicing
        along axis 0 (dask, zarr), written in chunks of frames. ImageJ supports uint8,
        uint16 and float32.
    frame_rate : float, optional
        Frames (volumes) per second, stored as ImageJ ``finterval = 1 / frame_rate``.
    properties : dict, optional
        ImageJ ``Properties`` (string key/value pairs), e.g. a recorded calibration.
    plane_spacing : float, optional
        Distance between planes of a volume, stored as ImageJ ``spacing``.

    Returns
    -------
    Path
        The written file.
    """
    shape = tuple(int(s) for s in movie.shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"movie must be (t, y, x) or (t, z, y, x), got shape {shape}")
    metadata: dict[str, Any] = {"axes": "TYX" if len(shape) == 3 else "TZYX"}
    if frame_rate:
        metadata["finterval"] = 1.0 / float(frame_rate)
    if properties:
        metadata["Properties"] = dict(properties)
    if plane_spacing:
        metadata["spacing"] = float(plane_spacing)
    path, dtype = Path(path), np.dtype(movie.dtype)
    if isinstance(movie, np.ndarray):
        tifffile.imwrite(path, movie, imagej=True, metadata=metadata)
        return path

    def frames(step: int = 16) -> Iterator[np.ndarray]:  # a few frames at a time
        for t0 in range(0, shape[0], step):
            yield np.ascontiguousarray(np.asarray(movie[t0:t0 + step]), dtype=dtype)

    tifffile.imwrite(path, frames(), shape=shape, dtype=dtype, imagej=True, metadata=metadata)
    return path
