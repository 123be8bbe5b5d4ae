"""Per-ROI quality metrics: shape (area, compactness, ...) and, given the summary images,
correlation, activity, brightness and contrast against the surroundings."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage import measure

from ._summary import SummaryImages


def roi_metrics(masks: np.ndarray, images: SummaryImages | None = None) -> dict[str, np.ndarray]:
    """Shape and image metrics of each ROI.

    Parameters
    ----------
    masks : ndarray of bool, shape (n, y, x)
    images : SummaryImages, optional
        For the image metrics (left out without it).

    Returns
    -------
    dict of str -> ndarray of shape (n,)
        ``area`` (pixels), ``centroid_y``/``centroid_x``, ``radius`` (of the disk of equal
        area), ``compactness`` (mean distance to the centroid of a disk of equal area over
        that of the ROI: 1 for a disk, smaller for elongated or ragged shapes),
        ``eccentricity``, ``solidity``, ``touches_border``; with ``images``:
        ``correlation`` (mean local correlation inside), ``peak_correlation``,
        ``activity`` (mean shared-signal SD, photons), ``brightness`` (mean photons),
        ``contrast`` (brightness over the mean of a ring one radius wide around the ROI,
        other ROIs left out, minus 1).
    """
    masks = np.asarray(masks, bool)
    n = len(masks)
    height, width = masks.shape[-2:]
    names = ["area", "centroid_y", "centroid_x", "radius", "compactness", "eccentricity",
             "solidity", "touches_border"]
    if images is not None:
        names += ["correlation", "peak_correlation", "brightness", "contrast"]
        if images.activity is not None:
            names.append("activity")
    out = {k: np.full(n, np.nan, np.float32) for k in names}
    out["area"] = np.zeros(n, np.int32)
    out["touches_border"] = np.zeros(n, bool)
    union = masks.any(axis=0) if n else None
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        area = len(ys)
        if area == 0:
            continue
        cy, cx = ys.mean(), xs.mean()
        radius = math.sqrt(area / math.pi)
        mean_dist = float(np.hypot(ys - cy, xs - cx).mean())
        out["area"][i] = area
        out["centroid_y"][i], out["centroid_x"][i], out["radius"][i] = cy, cx, radius
        out["compactness"][i] = min(1.0, (2 * radius / 3) / mean_dist) if area > 1 else 1.0
        out["touches_border"][i] = (ys.min() == 0 or xs.min() == 0
                                    or ys.max() == height - 1 or xs.max() == width - 1)
        grow = max(2, round(radius))
        y0, y1 = max(0, ys.min() - grow), min(height, ys.max() + grow + 1)
        x0, x1 = max(0, xs.min() - grow), min(width, xs.max() + grow + 1)
        crop = m[y0:y1, x0:x1]
        props = measure.regionprops(crop.astype(np.uint8))[0]
        out["eccentricity"][i], out["solidity"][i] = props.eccentricity, props.solidity
        if images is None:
            continue
        out["correlation"][i] = images.correlation[ys, xs].mean()
        out["peak_correlation"][i] = images.correlation[ys, xs].max()
        out["brightness"][i] = images.mean[ys, xs].mean()
        if images.activity is not None:
            out["activity"][i] = images.activity[ys, xs].mean()
        ring = ndimage.binary_dilation(crop, iterations=grow) & ~union[y0:y1, x0:x1]
        if ring.any():
            out["contrast"][i] = out["brightness"][i] / images.mean[y0:y1, x0:x1][ring].mean() - 1
    return out
