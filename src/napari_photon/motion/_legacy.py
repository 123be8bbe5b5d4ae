"""The first motion API (kept for callers written against it): thin wrappers over the
engine. New code should use :func:`estimate_motion`, :class:`CorrectedMovie` or
:func:`register`."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _engine as E
from . import _fourier as F
from ._blas import single_threaded_blas
from ._estimate import estimate_motion
from ._parallel import ProgressCallback
from ._reference import build_reference


def apply_shifts(frames: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Translate each frame (n, y, x) by its (dy, dx) shift: Fourier interpolation, no
    wrap-around (the uncovered border repeats the nearest edge)."""
    return F.shift_frames(np.asarray(frames, np.float32), np.asarray(shifts, np.float64))


def estimate_reference(movie: Any, n_frames: int = 200, iterations: int = 2) -> np.ndarray:
    """A reference image built from ``n_frames`` registered frames (iterated)."""
    settings = E.resolve_settings(tuple(movie.shape), reference_frames=n_frames,
                                  iterations=iterations)
    with single_threaded_blas():
        return build_reference(movie, settings)[0]


def estimate_shifts(movie: Any, reference: np.ndarray, frames_per_chunk: int = 64,
                    progress: ProgressCallback | None = None) -> np.ndarray:
    """Rigid shifts (t, 2) aligning every frame of ``movie`` to ``reference``."""
    return estimate_motion(movie, reference=reference, frames_per_chunk=frames_per_chunk,
                           progress=progress).shifts


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
