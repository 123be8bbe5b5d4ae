"""Ground-truth motion: a rigid random walk with jumps, and a smooth non-rigid warp."""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal


def rigid_shifts(rng: np.random.Generator, n_frames: int, max_shift: float,
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


def nonrigid_warp(rng: np.random.Generator, n_frames: int, shape: tuple[int, int], amplitude: float,
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
