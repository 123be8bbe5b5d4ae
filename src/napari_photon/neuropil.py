"""The neuropil contamination coefficient of each ROI, estimated from its own traces.

A ROI's fluorescence is its cell's signal plus out-of-focus light, and the neuropil
annulus around it measures that light::

    F(t) = S(t) + c * N(t) + noise        (S >= its baseline: transients only go up)

suite2p and most pipelines fix ``c`` at 0.7 for every ROI, but ``c`` depends on the
depth, the cell's size and how the annulus samples the neuropil; in tissue it ranges
from about 0.3 to 1.2 (Kerlin et al. 2010, Chen et al. 2013, de Vries et al. 2020). Here
``c`` is estimated per ROI by regression on the frames where the cell is quiet:

1. both traces are high-passed (a Gaussian of ``highpass_frames`` subtracted), which
   takes out bleaching, slow drift and the resting brightness, so only the neuropil's
   fast transients are left to explain;
2. least squares of ``F`` on ``N`` over the frames whose residual ``F - c N`` is below
   ``threshold`` noise SDs (the cell's transients are the positive outliers), with the
   frames after each left-out frame left out too (a transient decays over
   ``exclude_frames``), repeated ``iterations`` times from ``c = initial``.

This is close to the Allen Brain Observatory's approach (de Vries et al. 2020, which fits
``c`` by minimizing the error of a smooth cell trace) without its cross-validation.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["estimate_coefficients"]


def _noise_sd(residual: np.ndarray) -> np.ndarray:
    """Robust SD of frame-to-frame changes over sqrt(2), per row (white noise's SD)."""
    diff = np.diff(residual, axis=-1)
    mad = np.median(np.abs(diff - np.median(diff, axis=-1, keepdims=True)), axis=-1)
    return 1.4826 * mad / np.sqrt(2.0)


def estimate_coefficients(
    fluorescence: np.ndarray,
    neuropil: np.ndarray,
    *,
    highpass_frames: float = 30.0,
    threshold: float = 2.0,
    exclude_frames: int = 15,
    iterations: int = 8,
    initial: float = 0.7,
    bounds: tuple[float, float] = (0.0, 2.0),
) -> np.ndarray:
    """Neuropil coefficient of each ROI.

    Parameters
    ----------
    fluorescence, neuropil : ndarray, shape (n, t) or (t,)
        The ROIs' mean fluorescence and their annuli's, photons (as
        :func:`napari_photon.traces.extract_all` gives them).
    highpass_frames : float
        Sigma (frames) of the Gaussian subtracted from both traces.
    threshold : float
        Frames whose residual is above its median plus this many noise SDs count as
        the cell's own activity and are left out of the fit.
    exclude_frames : int
        ... with this many frames after each (a transient's decay).
    iterations : int
        Fits, each on the frames the previous one found quiet.
    initial : float
        The coefficient the first residual is formed with.
    bounds : (float, float)
        The result is clipped to this range.

    Returns
    -------
    ndarray of float32, shape (n,)
        ``initial`` for rows too short (under 3 frames) or whose neuropil does not vary.
    """
    f = np.atleast_2d(np.asarray(fluorescence, dtype=np.float64))
    n = np.atleast_2d(np.asarray(neuropil, dtype=np.float64))
    if f.shape != n.shape:
        raise ValueError(f"fluorescence {f.shape} and neuropil {n.shape} must have one shape")
    if not (np.isfinite(f).all() and np.isfinite(n).all()):
        raise ValueError("fluorescence and neuropil must be finite (no NaN or inf)")
    lo, hi = bounds
    if not lo <= initial <= hi:
        raise ValueError(f"initial {initial} must lie within bounds {bounds}")
    coefficients = np.full(len(f), initial, dtype=np.float64)
    if f.shape[-1] < 3 or len(f) == 0:
        return coefficients.astype(np.float32)
    if highpass_frames > 0:
        f = f - ndimage.gaussian_filter1d(f, highpass_frames, axis=-1, mode="nearest")
        n = n - ndimage.gaussian_filter1d(n, highpass_frames, axis=-1, mode="nearest")
    varies = (n * n).sum(axis=-1) > 1e-12
    after = np.zeros((1, 2 * exclude_frames + 1), bool)
    after[0, exclude_frames:] = True  # dilation reaches the frames after an active one
    for _ in range(max(1, iterations)):
        residual = f - coefficients[:, None] * n
        level = np.median(residual, axis=-1) + threshold * _noise_sd(residual)
        active = residual > level[:, None]
        if exclude_frames > 0:
            active = ndimage.binary_dilation(active, structure=after)
        quiet = ~active
        denominator = (n * n * quiet).sum(axis=-1)
        fit = (f * n * quiet).sum(axis=-1) / np.maximum(denominator, 1e-12)
        coefficients = np.where(varies & (denominator > 1e-12), np.clip(fit, lo, hi), initial)
    return coefficients.astype(np.float32)
