"""The simple ``"correlation"`` method: threshold the local-correlation image, split by
watershed on the distance to the background."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import measure, morphology
from skimage.segmentation import watershed

from ._segment import robust_threshold
from ._summary import SummaryImages


def detect(
    images: SummaryImages,
    *,
    min_area: int = 30,
    max_area: int = 500,
    threshold: float | None = None,
) -> np.ndarray:
    """Segment cells by thresholding the smoothed local-correlation image (simple method).

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
        threshold = robust_threshold(corr, 4.0)
    foreground = morphology.remove_small_objects(corr > threshold, max_size=min_area - 1)
    distance = ndimage.distance_transform_edt(foreground)
    peaks = measure.label(morphology.h_maxima(ndimage.gaussian_filter(distance, 1), 1.0))
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
