"""ROI detection on a registered, variance-stabilized movie."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage
from skimage import measure, morphology

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SummaryImages:
    """Per-pixel statistics of a movie, accumulated in one streaming pass."""

    mean: np.ndarray
    max: np.ndarray
    std: np.ndarray
    correlation: np.ndarray


def summary_images(
    movie: Any, frames_per_chunk: int = 64, progress: ProgressCallback | None = None
) -> SummaryImages:
    """Mean, max, temporal std and local correlation images, streaming over time blocks.

    The correlation image is each pixel's mean temporal correlation with its 4 neighbours:
    active cells stand out even when they are no brighter than the neuropil.
    """
    n_frames = len(movie)
    height, width = movie.shape[-2:]
    s1 = np.zeros((height, width))
    s2 = np.zeros((height, width))
    right = np.zeros((height, width - 1))
    down = np.zeros((height - 1, width))
    peak = np.full((height, width), -np.inf, dtype=np.float32)
    for t0 in range(0, n_frames, frames_per_chunk):
        block = np.asarray(movie[t0 : t0 + frames_per_chunk], dtype=np.float64)
        s1 += block.sum(axis=0)
        s2 += (block * block).sum(axis=0)
        right += (block[:, :, :-1] * block[:, :, 1:]).sum(axis=0)
        down += (block[:, :-1, :] * block[:, 1:, :]).sum(axis=0)
        np.maximum(peak, block.max(axis=0), out=peak)
        if progress is not None:
            progress(min(t0 + frames_per_chunk, n_frames), n_frames)
    mean = s1 / n_frames
    var = np.maximum(s2 / n_frames - mean**2, 1e-12)
    std = np.sqrt(var)
    corr_r = (right / n_frames - mean[:, :-1] * mean[:, 1:]) / (std[:, :-1] * std[:, 1:])
    corr_d = (down / n_frames - mean[:-1, :] * mean[1:, :]) / (std[:-1, :] * std[1:, :])
    total = np.zeros((height, width))
    count = np.zeros((height, width))
    total[:, :-1] += corr_r
    total[:, 1:] += corr_r
    total[:-1, :] += corr_d
    total[1:, :] += corr_d
    count[:, :-1] += 1
    count[:, 1:] += 1
    count[:-1, :] += 1
    count[1:, :] += 1
    return SummaryImages(
        mean=mean.astype(np.float32),
        max=peak,
        std=std.astype(np.float32),
        correlation=(total / count).astype(np.float32),
    )


def detect(
    images: SummaryImages,
    *,
    min_area: int = 30,
    max_area: int = 500,
    threshold: float | None = None,
) -> np.ndarray:
    """Segment cells from the local-correlation image.

    Parameters
    ----------
    images : SummaryImages
        From :func:`summary_images`.
    min_area, max_area : int
        Accepted ROI sizes in pixels.
    threshold : float, optional
        Correlation threshold; default: robust (median + 4 MAD) over the field.

    Returns
    -------
    ndarray of bool, shape (n_rois, y, x)
    """
    corr = ndimage.gaussian_filter(images.correlation, 1.0)
    if threshold is None:
        median = np.median(corr)
        mad = np.median(np.abs(corr - median)) * 1.4826
        threshold = float(median + 4 * mad)
    foreground = morphology.remove_small_objects(corr > threshold, max_size=min_area - 1)
    distance = ndimage.distance_transform_edt(foreground)
    peaks = measure.label(morphology.h_maxima(ndimage.gaussian_filter(distance, 1), 1.0))
    from skimage.segmentation import watershed

    labels = watershed(-distance, peaks, mask=foreground)
    masks = [
        labels == region.label
        for region in measure.regionprops(labels)
        if min_area <= region.area <= max_area
    ]
    height, width = corr.shape
    if not masks:
        return np.zeros((0, height, width), dtype=bool)
    return np.stack(masks)
