"""Quality control: each frame's Pearson correlation with the reference on a sparse grid of
pixels, computed in the same read as binning when possible."""

from __future__ import annotations

import numpy as np

from .. import _fourier as F
from .. import _kernels as K
from ._model import Model

QC_STRIDE = 2  # correlations use every 2nd pixel in y and x of frames at least 128 px wide


def qc_grid(shape: tuple[int, int], margin: int) -> tuple[slice, slice]:
    """The pixels the QC correlation is computed on: inside ``margin``, every
    ``QC_STRIDE``-th row and column (all of them in frames under 128 px). A quarter of the
    pixels estimate the same Pearson correlation to about 0.002 (tens of thousands of
    pixels still) at a fraction of the cost of the whole frame."""
    h, w = shape
    step = qc_stride(shape)
    return slice(margin, h - margin, step), slice(margin, w - margin, step)


def qc_stride(shape: tuple[int, int]) -> int:
    """Step between the rows and columns of the QC grid (see :func:`qc_grid`)."""
    return QC_STRIDE if min(shape) >= 128 else 1


def qc_reference(reference: np.ndarray, margin: int) -> np.ndarray:
    """The reference on the QC grid (2-D), centred and of unit norm (float32)."""
    gy, gx = qc_grid(reference.shape, margin)
    crop = np.asarray(reference, np.float64)[gy, gx]
    crop = crop - crop.mean()
    return (crop / max(float(np.sqrt((crop * crop).sum())), 1e-12)).astype(np.float32)


def qc_arguments(model: Model) -> tuple[np.ndarray, int, int]:
    """``(qc_ref, margin, stride)``, as the kernels take them."""
    return model.qc_ref, model.settings.qc_margin, qc_stride(model.shape)


def frame_correlation(frames: np.ndarray, model: Model) -> np.ndarray:
    """Pearson correlation of each frame with the reference on the QC grid
    (:func:`qc_grid`)."""
    args = qc_arguments(model)
    return np.array([K.correlation(np.ascontiguousarray(f, np.float32), *args)
                     for f in frames], np.float32)


def binned_and_correlation(frames: np.ndarray, model: Model, qc: bool = True
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The frames binned by the settings' factor and their correlation with the reference
    (NaN without ``qc``), in one read of each frame."""
    b = model.settings.binning
    n, h, w = frames.shape
    if b == 1 or not qc:
        corr = frame_correlation(frames, model) if qc else np.full(n, np.nan, np.float32)
        return F.binned(frames, b), corr
    fb = np.empty((n, h // b, w // b), np.float32)
    args = qc_arguments(model)
    corr = np.array([K.bin_and_correlate(frames[i], b, fb[i], *args) for i in range(n)],
                    np.float32)
    return fb, corr
