"""Registration QC, gathered while a corrected movie streams (no second pass over it)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MotionQuality:
    """Registration QC of a corrected movie.

    Attributes
    ----------
    correlation_after : numpy.ndarray
        (t,) float32 correlation of each corrected frame with the reference.
    mean_image, max_image : numpy.ndarray
        (y, x) float32 mean and max projections of the corrected movie.
    """

    correlation_after: np.ndarray
    mean_image: np.ndarray
    max_image: np.ndarray

    def to_dict(self) -> dict[str, np.ndarray]:
        """``{"correlation_after": ..., "mean_image": ..., "max_image": ...}`` (e.g. the
        attributes of ``MotionCorrected.QC``)."""
        return {"correlation_after": self.correlation_after, "mean_image": self.mean_image,
                "max_image": self.max_image}


class QualityAccumulator:
    """Collects :class:`MotionQuality` from the frames of a corrected movie as they are read.

    Hand it to :class:`~napari_photon.motion.CorrectedMovie` (``quality=``); whatever reads
    the movie (a ``<photon@>`` write, a viewer, ``movie[t0:t1]``) feeds it, each frame
    counted once however often it is read, and :meth:`result` gives the QC once every frame
    has been read::

        quality = motion.QualityAccumulator(movie.shape)
        corrected = motion.CorrectedMovie(movie, estimate, quality=quality)
        save_movie(path, Stabilized(corrected, movie.calibration))   # one pass
        qc = quality.result()

    Parameters
    ----------
    shape : tuple of int
        ``(t, y, x)`` of the corrected movie.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        t, h, w = (int(n) for n in shape)
        self.shape = (t, h, w)
        self._corr = np.full(t, np.nan, np.float32)
        self._seen = np.zeros(t, bool)
        self._sum = np.zeros((h, w), np.float64)
        self._max = np.full((h, w), -np.inf, np.float32)
        self._lock = threading.Lock()

    def add(self, t0: int, frames: np.ndarray, correlation: np.ndarray,
            projections: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Account corrected frames ``t0:t0 + len(frames)`` and their correlations with the
        reference; ``projections``: their sum (float64) and max when already computed."""
        # float64 frame by frame: the mean must not depend on how reads split the movie
        if not len(frames):
            return
        t1 = t0 + len(frames)
        if projections is None:
            part_sum = np.zeros(frames.shape[1:], np.float64)
            part_max = frames[0].copy()
            for frame in frames:  # both while the frame is in cache
                np.add(part_sum, frame, out=part_sum)
                np.maximum(part_max, frame, out=part_max)
        else:
            part_sum, part_max = projections
        with self._lock:
            new = ~self._seen[t0:t1]
            if new.all():
                self._sum += part_sum
                np.maximum(self._max, part_max, out=self._max)
            elif new.any():
                fresh = frames[new]
                self._sum += fresh.sum(axis=0, dtype=np.float64)
                np.maximum(self._max, fresh.max(axis=0), out=self._max)
            self._seen[t0:t1] = True
            self._corr[t0:t1] = correlation

    @property
    def frames_counted(self) -> int:
        return int(self._seen.sum())

    @property
    def complete(self) -> bool:
        """Whether every frame has been accounted."""
        return bool(self._seen.all())

    @property
    def correlation_after(self) -> np.ndarray:
        """(t,) correlations so far (NaN: frame not read yet)."""
        return self._corr.copy()

    def result(self) -> MotionQuality:
        """The QC of the whole movie.

        Raises
        ------
        RuntimeError
            Before every frame was read.
        """
        if not self.complete:
            raise RuntimeError(f"motion QC is available once every frame was read "
                               f"({self.frames_counted} of {self.shape[0]} so far)")
        return MotionQuality(
            correlation_after=self._corr.copy(),
            mean_image=(self._sum / self.shape[0]).astype(np.float32),
            max_image=self._max.copy(),
        )
