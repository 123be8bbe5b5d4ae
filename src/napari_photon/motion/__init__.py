"""Motion correction of variance-stabilized two-photon movies (rigid and piecewise-rigid).

Two calls, one pass over the data each::

    from napari_photon import motion
    estimate = motion.estimate_motion(movie, method="rigid", progress=bar)
    quality = motion.QualityAccumulator(movie.shape)
    corrected = motion.CorrectedMovie(movie, estimate, quality=quality, progress=bar)
    save_movie(path, Stabilized(corrected, movie.calibration))   # reads -> corrects
    qc = quality.result()   # MotionQuality: correlation_after, mean_image, max_image

or a single pass, estimating each block as it is corrected::

    corrected, finalize = motion.register(movie, method="rigid")
    save_movie(path, Stabilized(corrected, movie.calibration))
    estimate = finalize()

Shifts follow scikit-image: ``estimate.shifts[t] = (dy, dx)`` is applied to frame ``t``
(a frame showing the scene moved by ``d`` gets ``-d``). See ``docs/motion.md``.
"""

from ._corrected import CorrectedMovie, RegisteringMovie, register
from ._engine import METHODS, Settings
from ._estimate import MotionEstimate, estimate_motion
from ._quality import MotionQuality, QualityAccumulator

__all__ = [
    "METHODS",
    "CorrectedMovie",
    "MotionEstimate",
    "MotionQuality",
    "QualityAccumulator",
    "RegisteringMovie",
    "Settings",
    "estimate_motion",
    "register",
]
