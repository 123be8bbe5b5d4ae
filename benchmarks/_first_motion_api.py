"""The first motion API of napari-photon, kept outside the package.

``estimate_reference``, ``estimate_shifts``, ``ShiftedMovie`` and ``apply_shifts`` were
the package's first motion calls (``napari_photon.motion.estimate_shifts`` etc.); they are
thin wrappers over the engine and no longer part of ``napari_photon.motion``. They stay
here for scripts and comparisons written against them, and ``tests/test_motion.py`` keeps
testing them. New code uses :func:`napari_photon.motion.estimate_motion`,
:class:`napari_photon.motion.CorrectedMovie` or :func:`napari_photon.motion.register`.

Import it with the benchmarks folder on ``sys.path`` (as the benchmarks import their
helpers)::

    sys.path.insert(0, "benchmarks")
    import _first_motion_api as first
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_photon._blocks import ProgressCallback
from napari_photon.motion import _engine as E
from napari_photon.motion import _fourier as F
from napari_photon.motion import estimate_motion
from napari_photon.motion._blas import single_threaded_blas
from napari_photon.motion._reference import build_reference


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
