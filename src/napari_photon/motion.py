"""Rigid motion correction: batched FFT phase correlation, streaming over blocks of frames.

All functions work on variance-stabilized movies (unit noise everywhere), shape (t, y, x).
Shifts follow scikit-image's convention: ``shift[t] = (dy, dx)`` is what must be applied to
frame ``t`` to align it with the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import fft

ProgressCallback = Callable[[int, int], None]


def _taper(height: int, width: int, edge: float = 0.15) -> np.ndarray:
    """Separable raised-cosine window: frame borders fade out, so the periodic boundary of
    the FFT (a fixed edge that does not move with the tissue) cannot pin shifts at zero."""

    def ramp(n: int) -> np.ndarray:
        k = max(1, int(n * edge))
        w = np.ones(n, dtype=np.float32)
        r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 0.5) / k)
        w[:k], w[n - k :] = r, r[::-1]
        return w

    return ramp(height)[:, None] * ramp(width)[None, :]


def _spectra(frames: np.ndarray) -> np.ndarray:
    height, width = frames.shape[-2:]
    frames = frames - frames.mean(axis=(-2, -1), keepdims=True)
    return fft.rfft2(frames * _taper(height, width), workers=-1)


def _lowpass(height: int, width: int, sigma: float = 3.0) -> np.ndarray:
    """Gaussian smoothing of the correlation surface, applied in the Fourier domain."""
    ky = fft.fftfreq(height)[:, None]
    kx = fft.rfftfreq(width)[None, :]
    return np.exp(-2 * (np.pi * sigma) ** 2 * (ky**2 + kx**2)).astype(np.float32)


def _subpixel(corr: np.ndarray, peak: tuple[int, ...]) -> np.ndarray:
    """Parabolic interpolation of a correlation peak along each axis (wrap-around)."""
    offsets = []
    for axis, p in enumerate(peak):
        n = corr.shape[axis]
        idx = list(peak)
        idx[axis] = (p - 1) % n
        left = corr[tuple(idx)]
        idx[axis] = (p + 1) % n
        right = corr[tuple(idx)]
        centre = corr[peak]
        denom = left - 2 * centre + right
        offsets.append(0.0 if denom >= 0 else 0.5 * (left - right) / denom)
    return np.asarray(offsets)


def phase_correlate(frames: np.ndarray, reference_spectrum: np.ndarray) -> np.ndarray:
    """Shifts (n, 2) that align each frame to the reference, to sub-pixel precision.

    Parameters
    ----------
    frames : ndarray, shape (n, y, x)
        A block of stabilized frames.
    reference_spectrum : ndarray
        ``rfft2`` of the mean-subtracted reference image.
    """
    height, width = frames.shape[-2:]
    cross = _spectra(frames) * np.conj(reference_spectrum)
    cross /= np.abs(cross) + 1e-6
    cross *= _lowpass(height, width)
    corr = fft.irfft2(cross, s=(height, width), workers=-1)
    shifts = np.empty((len(frames), 2), dtype=np.float32)
    for i, c in enumerate(corr):
        peak = np.unravel_index(int(np.argmax(c)), c.shape)
        delta = np.asarray(peak, dtype=float) + _subpixel(c, peak)
        delta[0] = delta[0] - height if delta[0] > height / 2 else delta[0]
        delta[1] = delta[1] - width if delta[1] > width / 2 else delta[1]
        shifts[i] = -delta
    return shifts


def apply_shifts(frames: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Translate each frame by its (dy, dx) shift with a Fourier phase ramp (no loops)."""
    height, width = frames.shape[-2:]
    ky = fft.fftfreq(height)[None, :, None]
    kx = fft.rfftfreq(width)[None, None, :]
    dy = shifts[:, 0, None, None]
    dx = shifts[:, 1, None, None]
    ramp = np.exp(-2j * np.pi * (ky * dy + kx * dx)).astype(np.complex64)
    spectrum = fft.rfft2(frames.astype(np.float32, copy=False), workers=-1)
    return fft.irfft2(spectrum * ramp, s=(height, width), workers=-1).astype(np.float32)


def estimate_reference(
    movie: Any, n_frames: int = 200, iterations: int = 2
) -> np.ndarray:
    """A reference image built from registered frames (iterated).

    The first ``n_frames`` frames are registered to their own mean, then to the mean of the
    registered frames, ``iterations`` times, so the reference is sharp rather than blurred.
    """
    frames = np.asarray(movie[: min(n_frames, len(movie))], dtype=np.float32)
    reference = frames.mean(axis=0)
    for _ in range(iterations):
        shifts = phase_correlate(frames, _spectra(reference[None])[0])
        reference = apply_shifts(frames, shifts).mean(axis=0)
    return reference


def estimate_shifts(
    movie: Any,
    reference: np.ndarray,
    frames_per_chunk: int = 64,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Shifts (t, 2) aligning every frame of ``movie`` to ``reference``, block by block."""
    spectrum = _spectra(reference[None])[0]
    n_frames = len(movie)
    shifts = np.empty((n_frames, 2), dtype=np.float32)
    for t0 in range(0, n_frames, frames_per_chunk):
        t1 = min(t0 + frames_per_chunk, n_frames)
        shifts[t0:t1] = phase_correlate(np.asarray(movie[t0:t1], dtype=np.float32), spectrum)
        if progress is not None:
            progress(t1, n_frames)
    return shifts


class ShiftedMovie:
    """A movie whose frames are translated by known shifts when read (lazy, blockwise).

    Parameters
    ----------
    source : array-like, shape (t, y, x)
    shifts : ndarray, shape (t, 2)
        (dy, dx) applied to each frame.
    """

    def __init__(self, source: Any, shifts: np.ndarray) -> None:
        self.source = source
        self.shifts = np.asarray(shifts, dtype=np.float32)
        self.shape = tuple(source.shape)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise IndexError("ShiftedMovie is read in contiguous blocks of frames")
        t0, t1, _ = index.indices(self.shape[0])
        frames = np.asarray(self.source[t0:t1], dtype=np.float32)
        return apply_shifts(frames, self.shifts[t0:t1])
