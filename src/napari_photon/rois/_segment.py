"""Seeded watershed segmentation of a footprint image into cell masks.

Seeds are local maxima above a threshold (:func:`robust_threshold` gives one from the
background's own spread); regions grow by watershed, neighbouring regions of one cell are
merged at a high saddle (:func:`merge_labels`), and each keeps its connected pixels above a
fraction of its peak.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.segmentation import watershed


def robust_threshold(image: np.ndarray, z: float) -> float:
    """Median plus ``z`` robust SDs, the SD taken from the values below the median.

    Cells only push values up, so the lower half of the distribution measures the
    spread of the background alone, even where cells are dense.
    """
    median = float(np.median(image))
    low = image[image < median]
    spread = 1.4826 * float(np.median(median - low)) if low.size else 0.0
    return median + z * max(spread, 1e-12)


def merge_labels(labels: np.ndarray, image: np.ndarray, ratio: float) -> np.ndarray:
    """Merge adjacent watershed regions whose saddle exceeds ``ratio`` x the lower peak."""
    n = int(labels.max())
    if n < 2 or ratio >= 1:
        return labels
    peaks = np.asarray(ndimage.maximum(image, labels, np.arange(1, n + 1)))
    pairs, saddles = [], []
    for a_lab, b_lab, a_val, b_val in (
        (labels[:, :-1], labels[:, 1:], image[:, :-1], image[:, 1:]),
        (labels[:-1, :], labels[1:, :], image[:-1, :], image[1:, :]),
    ):
        edge = (a_lab != b_lab) & (a_lab > 0) & (b_lab > 0)
        lo, hi = np.minimum(a_lab[edge], b_lab[edge]), np.maximum(a_lab[edge], b_lab[edge])
        pairs.append(lo.astype(np.int64) * (n + 1) + hi)
        saddles.append(np.minimum(a_val[edge], b_val[edge]))
    if not pairs or not sum(len(p) for p in pairs):
        return labels
    keys, saddle = np.concatenate(pairs), np.concatenate(saddles)
    order = np.argsort(keys, kind="stable")
    keys, saddle = keys[order], saddle[order]
    unique, start = np.unique(keys, return_index=True)
    best = np.maximum.reduceat(saddle, start)
    parent = np.arange(n + 1)
    top = np.concatenate([[0], peaks])

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for key, s in sorted(zip(unique.tolist(), best.tolist()), key=lambda kv: -kv[1]):
        a, b = root(key // (n + 1)), root(key % (n + 1))
        if a != b and s > ratio * min(top[a], top[b]):
            parent[b] = a
            top[a] = max(top[a], top[b])
    roots = np.array([root(i) for i in range(n + 1)])
    return roots[labels]


def segment(
    footprint_image: np.ndarray,
    seed_image: np.ndarray,
    seed_threshold: float,
    *,
    fraction: float = 0.3,
    min_area: int = 30,
    max_area: int = 500,
    min_distance: int = 3,
    merge_ratio: float = 0.6,
    smooth_sigma: float = 1.0,
    border: int = 0,
    base_percentile: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded watershed segmentation of a footprint image.

    Seeds are local maxima of ``seed_image`` above ``seed_threshold``; each grows by
    watershed on the smoothed ``footprint_image``; adjacent regions whose saddle is above
    ``merge_ratio`` times the lower of their peaks are merged; each region keeps the
    connected pixels above ``fraction`` of its peak (holes filled). Nothing within
    ``border`` pixels of the edges is used.

    With ``base_percentile``, the watershed covers the whole image and the threshold is
    ``base + fraction * (peak - base)``, ``base`` being that percentile of the region
    within ``2 sqrt(max_area / pi)`` of its peak (for images with an uncertain zero level,
    such as a background-subtracted mean image). Otherwise only pixels above 0 count.

    Returns
    -------
    masks : ndarray of bool, shape (n, y, x)
    seeds : ndarray of int, shape (n, 2)
        (y, x) of each ROI's brightest footprint pixel.
    """
    shape = footprint_image.shape
    empty = (np.zeros((0, *shape), bool), np.zeros((0, 2), int))
    fp = ndimage.gaussian_filter(footprint_image.astype(np.float32), smooth_sigma)
    seed_image = np.asarray(seed_image, np.float32)
    if border > 0:
        inner = np.zeros(shape, bool)
        inner[border:-border, border:-border] = True
        fp = np.where(inner, fp, 0)
        seed_image = np.where(inner, seed_image, seed_image.min())
    peaks = peak_local_max(seed_image, min_distance=max(1, int(min_distance)),
                           threshold_abs=seed_threshold, exclude_border=False)
    if len(peaks) == 0:
        return empty
    markers = np.zeros(shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    inside = np.ones(shape, bool) if base_percentile is not None else fp > 0
    if border > 0:
        inside[:border], inside[-border:], inside[:, :border], inside[:, -border:] = (
            False, False, False, False)
    labels = watershed(-fp, markers, mask=inside)
    labels = merge_labels(labels, fp, merge_ratio)
    reach = 2 * math.sqrt(max_area / math.pi)
    seed_label = labels[tuple(peaks.T)]
    masks, seeds = [], []
    for sl_label, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        region = labels[sl] == sl_label
        values = np.where(region, fp[sl], -np.inf)
        top = np.unravel_index(int(np.argmax(values)), values.shape)
        base = 0.0
        if base_percentile is not None:
            yy, xx = np.ogrid[: values.shape[0], : values.shape[1]]
            near = region & ((yy - top[0]) ** 2 + (xx - top[1]) ** 2 <= reach**2)
            base = float(np.percentile(values[near], base_percentile))
        if not values[top] > base:
            continue
        above = ndimage.binary_fill_holes(values > base + fraction * (values[top] - base))
        parts, _ = ndimage.label(above)
        # every part above the threshold that holds a seed is a cell (merged seeds whose
        # cells separate at the threshold stay separate)
        own = peaks[seed_label == sl_label] - [sl[0].start, sl[1].start]
        for part in np.unique(np.r_[parts[top], parts[tuple(own.T)]]):
            if part == 0:
                continue
            keep = parts == part
            area = int(keep.sum())
            if not (min_area <= area <= max_area):
                continue
            peak_at = np.unravel_index(int(np.argmax(np.where(keep, values, -np.inf))),
                                       values.shape)
            mask = np.zeros(shape, bool)
            mask[sl] = keep
            masks.append(mask)
            seeds.append((peak_at[0] + sl[0].start, peak_at[1] + sl[1].start))
    if not masks:
        return empty
    return np.stack(masks), np.asarray(seeds, int)

