"""Photon calibration of a movie: gain and zero level from the photon transfer curve.

A photon-counting detector digitized with gain ``g`` (levels per photon) and zero level
``z`` records ``x = g * Poisson(lambda) + z + read noise``, so the temporal variance of
a pixel grows linearly with its mean: ``var = g * (mean - z) + sigma**2``. Fitting that
line over many pixels gives the calibration needed by :mod:`napari_photon.anscombe`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

__all__ = ["Calibration", "estimate"]

ProgressCallback = Callable[[int, int], Any]


@dataclass(frozen=True)
class Calibration:
    """Conversion between digitizer levels and photons.

    Attributes
    ----------
    gain : float
        Digitizer levels per photon (> 0).
    zero_level : float
        Level recorded without light.
    read_noise : float
        Standard deviation of the Gaussian read noise, in levels (>= 0).
    """

    gain: float = 1.0
    zero_level: float = 0.0
    read_noise: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, float(getattr(self, f.name)))
        if not (math.isfinite(self.gain) and self.gain > 0):
            raise ValueError(f"gain must be a positive finite number, got {self.gain!r}")
        if not math.isfinite(self.zero_level):
            raise ValueError(f"zero_level must be finite, got {self.zero_level!r}")
        if not (math.isfinite(self.read_noise) and self.read_noise >= 0):
            raise ValueError(f"read_noise must be finite and >= 0, got {self.read_noise!r}")

    def to_dict(self) -> dict[str, float]:
        """Return the calibration as a JSON-safe dict of plain floats."""
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration:
        """Build a calibration from a mapping such as the output of :meth:`to_dict`.

        Missing keys take their defaults; unknown keys raise ``ValueError``.
        """
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown calibration keys: {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in d.items()})

    def to_photons(self, x: Any) -> Any:
        """Convert levels to photons, ``(x - zero_level) / gain``, as float32.

        Works elementwise on numpy arrays, dask arrays (stays lazy) and scalars.
        """
        out = (x - np.float32(self.zero_level)) * np.float32(1.0 / self.gain)
        return out.astype(np.float32) if hasattr(out, "astype") else np.float32(out)


def _frame_statistics(
    movie: Any, frames_per_chunk: int, progress: ProgressCallback | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stream over time chunks; return per-pixel mean, difference variance and maximum.

    The variance is ``mean((x[t+1] - x[t])**2) / 2``, which equals the noise variance for
    white noise and is insensitive to signals that change slowly compared to a frame.
    """
    n_frames = int(movie.shape[0])
    frame_shape = tuple(int(s) for s in movie.shape[1:])
    total = np.zeros(frame_shape, np.float64)
    sq_diff = np.zeros(frame_shape, np.float64)
    peak = np.full(frame_shape, -np.inf, np.float32)
    last: np.ndarray | None = None
    for t0 in range(0, n_frames, frames_per_chunk):
        t1 = min(t0 + frames_per_chunk, n_frames)
        chunk = np.asarray(movie[t0:t1], dtype=np.float32)
        if chunk.shape != (t1 - t0, *frame_shape):
            raise ValueError(f"movie[{t0}:{t1}] has shape {chunk.shape}, expected "
                             f"{(t1 - t0, *frame_shape)}")
        total += chunk.sum(axis=0, dtype=np.float64)
        np.maximum(peak, chunk.max(axis=0), out=peak)
        if last is not None:
            d = chunk[0] - last
            sq_diff += d * d
        d = np.diff(chunk, axis=0)
        sq_diff += np.einsum("t...,t...->...", d, d, dtype=np.float64)
        last = chunk[-1].copy()
        if progress is not None:
            progress(t1, n_frames)
    return total / n_frames, sq_diff / (2.0 * (n_frames - 1)), peak


def estimate(
    movie: Any,
    *,
    frames_per_chunk: int = 64,
    progress: ProgressCallback | None = None,
) -> Calibration:
    """Estimate gain and zero level from the temporal mean-variance relation.

    The movie is read in slices ``movie[t0:t1]`` of ``frames_per_chunk`` frames, never
    whole. For every pixel the temporal mean and the noise variance
    ``var(x[t+1] - x[t]) / 2`` are accumulated (the last frame of a chunk is carried to
    the next one), so slow activity and drifts barely inflate the variance. Pixels that
    reach the movie's maximum (possible saturation) or have no variance are dropped, the
    others are kept within the 10th-90th percentile of their means (dim clipped pixels
    and bright active cells excluded), sorted into equal-count bins by mean, and the
    median mean and median variance of every bin are fit robustly with the Theil-Sen
    estimator: ``variance = gain * (mean - zero_level)``.

    The fit cannot tell the zero level apart from the read noise: only
    ``read_noise**2 - gain * zero_level`` (the intercept) is identified, and that is all
    the generalized Anscombe transform needs. The whole intercept therefore goes into
    ``zero_level = -intercept / gain`` and ``read_noise`` is 0. The resulting
    ``zero_level`` is thus an *effective* one, below the true dark level by
    ``read_noise**2 / gain``.

    Parameters
    ----------
    movie : array_like
        Shape ``(t, y, x)`` or ``(t, z, y, x)`` with numpy-style slicing along axis 0:
        numpy, dask or zarr array, or anything alike.
    frames_per_chunk : int, optional
        Frames read per slice.
    progress : callable, optional
        Called as ``progress(done_frames, total_frames)`` after each chunk.

    Returns
    -------
    Calibration
        ``gain`` and effective ``zero_level``, ``read_noise = 0``.

    Raises
    ------
    ValueError
        If the movie is not 3D/4D, has fewer than 3 frames, too few usable pixels, or
        shows no photon noise (non-positive fitted gain).
    """
    shape = tuple(getattr(movie, "shape", ()))
    if len(shape) not in (3, 4):
        raise ValueError(f"movie must have shape (t, y, x) or (t, z, y, x), got {shape}")
    if shape[0] < 3:
        raise ValueError(f"need at least 3 frames to estimate a calibration, got {shape[0]}")
    if frames_per_chunk < 2:
        raise ValueError(f"frames_per_chunk must be >= 2, got {frames_per_chunk}")

    mean, var, peak = _frame_statistics(movie, int(frames_per_chunk), progress)
    mean, var, peak = mean.ravel(), var.ravel(), peak.ravel()
    usable = (peak < peak.max()) & (var > 0) & np.isfinite(mean) & np.isfinite(var)
    if usable.sum() < 20:
        usable = (var > 0) & np.isfinite(mean) & np.isfinite(var)
    lo, hi = np.percentile(mean[usable], [10.0, 90.0]) if usable.any() else (0.0, 0.0)
    keep = usable & (mean >= lo) & (mean <= hi)
    n_keep = int(keep.sum())
    if n_keep < 10:
        raise ValueError(f"only {n_keep} usable pixels; need at least 10 with temporal noise")

    order = np.argsort(mean[keep], kind="stable")
    n_bins = int(np.clip(n_keep // 50, 5, 50))
    bins = np.array_split(order, n_bins)
    m_keep, v_keep = mean[keep], var[keep]
    bin_mean = np.array([np.median(m_keep[b]) for b in bins])
    bin_var = np.array([np.median(v_keep[b]) for b in bins])
    if np.ptp(bin_mean) <= 0:
        raise ValueError("all pixels have the same mean; cannot fit the photon transfer curve")
    from scipy import stats  # 0.4 s to import: only when calibrating

    slope, intercept, *_ = stats.theilslopes(bin_var, bin_mean)
    if not (np.isfinite(slope) and slope > 0):
        raise ValueError(f"fitted gain {slope!r} is not positive: no photon noise detected")
    return Calibration(gain=float(slope), zero_level=float(-intercept / slope), read_noise=0.0)
