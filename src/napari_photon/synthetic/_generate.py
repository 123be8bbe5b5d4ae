"""The public generators: :func:`make_movie`, :func:`make_hard_movie` and :func:`make_volume`,
each a seeded composition of scene, activity, motion and rendering."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._activity import calcium_traces
from ._ground_truth import SyntheticMovie, SyntheticVolume
from ._motion import nonrigid_warp, rigid_shifts
from ._rendering import render
from ._scene import MASK_FRACTION, place_cells, smooth_background, soma_footprint


def _plane(rng: np.random.Generator, shape: tuple[int, int], n_neurons: int,
           baseline: tuple[float, float], max_shift: float, radius: tuple[float, float],
           frame_rate: float, shifts: np.ndarray, dtype: np.dtype,
           nonrigid: float = 0.0) -> tuple[np.ndarray, ...]:
    """Generate one plane: (movie, footprints, traces, background, warp or None)."""
    reach = max_shift + max(nonrigid, 0.0)
    pad = math.ceil(reach) + 2
    background = smooth_background(rng, shape, baseline)
    cells = place_cells(rng, shape, n_neurons, margin=reach + 1.0, radius=radius)
    footprints = np.zeros((n_neurons, *shape), np.float32)
    for i, (y, x, r) in enumerate(cells):
        footprints[i] = soma_footprint(rng, shape, y, x, r)
    local = np.array([background[round(y), round(x)] for y, x, _ in cells], np.float32)
    traces = calcium_traces(rng, shifts.shape[0], frame_rate, local)
    warp = None
    if nonrigid > 0:
        warp = nonrigid_warp(rng, shifts.shape[0], shape, float(nonrigid), frame_rate)
    movie = render(background, footprints, traces, shifts, pad, rng, dtype, warp)
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
    shifts = rigid_shifts(rng, n_frames, float(max_shift), frame_rate, float(jump_rate),
                     float(jump_size))
    movie, footprints, traces, background, warp = _plane(
        rng, tuple(shape), n_neurons, baseline, float(max_shift), neuron_radius,
        frame_rate, shifts, np.dtype(dtype), float(nonrigid))
    return SyntheticMovie(movie=movie, shifts=shifts, footprints=footprints,
                          masks=footprints > MASK_FRACTION, traces=traces,
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
    shifts = rigid_shifts(rng, n_frames, float(max_shift), frame_rate)
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
                           masks=footprints > MASK_FRACTION, traces=traces,
                           background=background, frame_rate=float(frame_rate),
                           plane_spacing=float(plane_spacing))
