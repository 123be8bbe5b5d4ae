"""The anatomical path: cells as round blobs of the background-subtracted mean image.

For cells that never fire (no activity, no local correlation) but are brighter than their
surroundings.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ._segment import segment


def anatomical_rois(mean: np.ndarray, n_frames: int, threshold: float, contrast: float,
                    fraction: float, background_sigma: float,
                    seg: dict) -> tuple[np.ndarray, np.ndarray]:
    """Cells as blobs of the high-passed mean image.

    A seed must stand ``threshold`` photon-noise SDs of the mean image
    (``sqrt(mean / n_frames)``) above the background and be at least ``contrast`` times
    brighter than it.

    Parameters
    ----------
    mean : ndarray of float, shape (y, x)
        Mean photon counts over ``n_frames`` frames.
    n_frames : int
    threshold, contrast, fraction, background_sigma : float
        See ``anatomical_threshold``, ``anatomical_contrast``, ``anatomical_fraction`` and
        ``background_sigma`` of :func:`~napari_photon.rois.detect_rois`.
    seg : dict
        Keyword arguments of :func:`~napari_photon.rois.segment` (``smooth_sigma`` among
        them).

    Returns
    -------
    masks : ndarray of bool, shape (n, y, x)
    seeds : ndarray of int, shape (n, 2)
    """
    highpass, background = highpass_mean(mean, background_sigma, contrast)
    smooth = ndimage.gaussian_filter(highpass, seg["smooth_sigma"])
    noise = np.sqrt(np.maximum(background, 1e-3) / max(n_frames, 1))
    ok = (smooth >= threshold * noise) & (smooth >= contrast * np.maximum(background, 1e-6))
    seed_image = np.where(ok, smooth / np.maximum(background, 1e-6), 0)
    masks, seeds = segment(highpass, seed_image, 1e-9, fraction=fraction,
                           base_percentile=10.0, **seg)
    return masks, seeds


def highpass_mean(mean: np.ndarray, sigma: float,
                  contrast: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """Mean image minus its smooth background, cells left out of the background.

    The background is a Gaussian average (``sigma``) over pixels that are not
    ``contrast / 2`` above the current estimate (normalized convolution, twice), so a
    cell's own light does not raise the background under it. The image is extended
    past its edges by odd reflection (``2 * edge - mirror``), which continues a sloping
    background instead of folding it into a spurious bump or dip along the edges.

    Returns
    -------
    highpass : ndarray, shape (y, x)
        ``mean - background``.
    background : ndarray of float32, shape (y, x)
    """
    pad = math.ceil(3 * sigma)
    height, width = mean.shape
    pad_y, pad_x = min(pad, height - 1), min(pad, width - 1)
    image = np.pad(mean.astype(np.float32), ((pad_y, pad_y), (pad_x, pad_x)),
                   mode="reflect", reflect_type="odd")
    background = ndimage.gaussian_filter(image, sigma)
    for _ in range(2):
        bright = image - background > 0.5 * contrast * np.maximum(background, 1e-6)
        weight = (~ndimage.binary_dilation(bright, iterations=2)).astype(np.float32)
        norm = ndimage.gaussian_filter(weight, sigma)
        smooth = ndimage.gaussian_filter(image * weight, sigma)
        background = np.where(norm > 0.05, smooth / np.maximum(norm, 1e-6), background)
    background = background[pad_y : pad_y + height, pad_x : pad_x + width]
    return mean - background, background
