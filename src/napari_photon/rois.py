"""ROI detection on a registered movie: activity first, anatomy for still cells.

One streaming pass over the movie (:func:`summary_images`, memory bounded by a block of
frames) accumulates, in photon units, per-pixel sums and the products of every pixel with
its 8 neighbours (over frames, or over bins of ``bin_frames`` frames). From them:

* ``correlation``: each pixel's temporal correlation with its 8 neighbours (averaged).
  Photon noise is independent from pixel to pixel, so only shared signal -- a cell's
  calcium activity -- correlates neighbours;
* ``activity``: the square root of the neighbour covariance, in photons. Photon noise has
  no covariance between pixels, so this is an unbiased image of
  ``footprint * sd(calcium)``: proportional to each active cell's spatial profile, and
  close to zero on the boundary between two independent cells. Interpolation during
  registration does give noise a neighbour covariance proportional to brightness; its
  level (``noise_covariance``, the median of covariance over mean) is removed first;
* ``mean``, ``max`` and ``std`` of the photon counts.

:func:`detect_rois` then seeds cells at local maxima of the smoothed correlation image
(above median + ``threshold`` robust SDs, the SD taken from the lower half of the values),
grows each seed by watershed on the activity image, merges seeds of one cell (high saddle
between them), and keeps the connected pixels above a fraction of each cell's peak. Cells
that never fire are looked for in the background-subtracted mean image (the anatomical
path) and added where no activity ROI lies, if round and brighter than their
surroundings. A second pass extracts neuropil-corrected traces
(:func:`napari_photon.traces.extract_all`) for the SNR and skewness metrics. Every
parameter is a plain JSON-serializable keyword argument.

:func:`detect` (threshold the correlation image, split by watershed) is kept as the
simple ``"correlation"`` method; :func:`match_rois` scores masks against ground truth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from skimage import measure, morphology
from skimage.feature import peak_local_max
from skimage.segmentation import watershed

ProgressCallback = Callable[[int, int], None]

__all__ = [
    "RoiResult",
    "SummaryImages",
    "detect",
    "detect_rois",
    "match_rois",
    "roi_metrics",
    "segment",
    "summary_images",
]

METHODS = ("activity", "anatomical", "correlation")


@dataclass(frozen=True)
class SummaryImages:
    """Per-pixel statistics of a movie, accumulated in one streaming pass.

    Attributes
    ----------
    mean, max, std : ndarray of float32, shape (y, x)
        Of the photon counts, over all frames.
    correlation : ndarray of float32
        Temporal correlation of each pixel with the mean of its 8 neighbours, on binned
        variance-stabilized frames (0 for noise, towards 1 inside active cells).
    activity : ndarray of float32 or None
        ``sqrt(max(cov(pixel, neighbour mean) - noise_covariance * mean, 0))`` on binned
        photon counts: photons of shared (signal) standard deviation, proportional to the
        footprints of active cells.
    n_frames, bin_frames : int
        Frames seen and frames per bin.
    noise_covariance : float
        Neighbour covariance per photon of mean brightness that photon noise alone shows
        (0 for raw frames; above 0 when registration interpolated them), estimated as
        the median over the field and removed from ``activity``.
    """

    mean: np.ndarray
    max: np.ndarray
    std: np.ndarray
    correlation: np.ndarray
    activity: np.ndarray | None = None
    n_frames: int = 0
    bin_frames: int = 1
    noise_covariance: float = 0.0


@dataclass
class RoiResult:
    """ROIs found by :func:`detect_rois`.

    Attributes
    ----------
    masks : ndarray of bool, shape (n, y, x)
    metrics : dict of str -> ndarray of shape (n,)
        Per-ROI quality metrics (see :func:`roi_metrics`; ``snr``/``skew`` when traces
        were extracted).
    images : SummaryImages
    params : dict
        The parameters used (JSON-serializable).
    """

    masks: np.ndarray
    metrics: dict[str, np.ndarray]
    images: SummaryImages
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.masks)

    def table(self) -> np.ndarray:
        """The metrics as a numpy structured array, one record per ROI."""
        names = list(self.metrics)
        dtype = [(k, np.asarray(self.metrics[k]).dtype) for k in names]
        out = np.empty(len(self.masks), dtype=dtype)
        for k in names:
            out[k] = self.metrics[k]
        return out


# -- streaming statistics ----------------------------------------------------------------


def _photon_view(movie: Any, units: str) -> Any:
    """The movie as photon counts, read block by block."""
    if units not in ("auto", "photons", "stabilized"):
        raise ValueError(f"units must be 'auto', 'photons' or 'stabilized', got {units!r}")
    if units == "auto":
        return movie.photons("algebraic") if hasattr(movie, "photons") else movie
    if units == "stabilized":
        return _Unstabilized(movie)
    return movie


class _Unstabilized:
    """Photon counts from a stabilized array (algebraic inverse of ``2 sqrt(x + 3/8)``)."""

    def __init__(self, movie: Any) -> None:
        self.movie = movie
        self.shape = tuple(movie.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        s = np.asarray(self.movie[index], dtype=np.float32)
        return np.maximum(s * s / 4 - 0.375, 0)


# (dy, dx) of the 4 neighbour directions; with their opposites they give the 8 neighbours
_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _pair_slices(dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices (of p, of q = p + (dy, dx)) over all pixel pairs in the frame."""
    def axis(d: int) -> tuple[slice, slice]:
        if d > 0:
            return slice(None, -d), slice(d, None)
        if d < 0:
            return slice(-d, None), slice(None, d)
        return slice(None), slice(None)

    (py, qy), (px, qx) = axis(dy), axis(dx)
    return (py, px), (qy, qx)


class _Moments:
    """Sums over bins for the temporal covariance of every pixel with its 8 neighbours."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.n = 0
        self.offset: np.ndarray | None = None
        self.sx = np.zeros(shape)
        self.sxx = np.zeros(shape)
        self.pairs = [np.zeros(shape)[_pair_slices(*d)[0]] for d in _DIRECTIONS]

    def add(self, x: np.ndarray, pairs: bool = True) -> None:
        # sums of deviations from a fixed per-pixel offset (the first bins' mean): the
        # same covariances, without float32 cancellation in the per-block sums
        if self.offset is None:
            self.offset = x.mean(axis=0)
        x = x - self.offset
        self.n += len(x)
        self.sx += x.sum(axis=0)
        self.sxx += np.einsum("tyx,tyx->yx", x, x)  # float32 within a block, float64 across
        for total, d in zip(self.pairs if pairs else (), _DIRECTIONS):
            p, q = _pair_slices(*d)
            total += np.einsum("tyx,tyx->yx", x[(slice(None), *p)], x[(slice(None), *q)])

    def mean_sd(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each pixel over the bins."""
        n = max(self.n, 1)
        dev = self.sx / n
        sd = np.sqrt(np.maximum(self.sxx / n - dev * dev, 0))
        return (dev if self.offset is None else dev + self.offset), sd

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, covariance, correlation) of each pixel with its neighbours (averaged)."""
        n = max(self.n, 1)
        mean = self.sx / n  # of the deviations from the offset
        sd = np.sqrt(np.maximum(self.sxx / n - mean * mean, 0))
        cov_sum = np.zeros(self.shape)
        corr_sum = np.zeros(self.shape)
        count = np.zeros(self.shape)
        for total, d in zip(self.pairs, _DIRECTIONS):
            p, q = _pair_slices(*d)
            cov = total / n - mean[p] * mean[q]
            corr = cov / np.maximum(sd[p] * sd[q], 1e-12)
            for side in (p, q):
                cov_sum[side] += cov
                corr_sum[side] += corr
                count[side] += 1
        if self.offset is not None:
            mean = mean + self.offset
        return mean, cov_sum / count, np.clip(corr_sum / count, -1, 1)


def summary_images(
    movie: Any,
    frames_per_chunk: int = 64,
    progress: ProgressCallback | None = None,
    *,
    bin_frames: int = 1,
    units: str = "auto",
) -> SummaryImages:
    """Mean, max, std, local-correlation and activity images in one streaming pass.

    Parameters
    ----------
    movie : array-like, shape (t, y, x)
        Registered movie, read in blocks of ``frames_per_chunk`` frames: photon counts, or
        a :class:`~napari_photon.storage.PhotonMovie` (its algebraic photon view is used).
    frames_per_chunk : int
        Frames read at once; memory is bounded by a few blocks of this size.
    progress : callable(done, total), optional
        Called after each block with frames done and the total.
    bin_frames : int
        Frames averaged into one bin for the correlation and activity images (1: none).
        Binning averages photon noise away when the indicator is slow compared with the
        frame interval, and costs correlation samples otherwise. Bins run across block
        boundaries, so the result does not depend on ``frames_per_chunk``.
    units : {"auto", "photons", "stabilized"}
        What the values of ``movie`` are; ``"auto"``: a PhotonMovie's photon view, and
        photon counts for anything else.

    Returns
    -------
    SummaryImages
    """
    photons = _photon_view(movie, units)
    n_frames = len(photons)
    height, width = photons.shape[-2:]
    k = max(1, int(bin_frames))
    peak = np.full((height, width), -np.inf, dtype=np.float32)
    moments = _Moments((height, width))
    carry = np.zeros((0, height, width), np.float32)
    step = max(1, int(frames_per_chunk))
    frames = _Moments((height, width)) if k > 1 else moments  # per-frame mean and std
    for t0 in range(0, n_frames, step):
        block = np.asarray(photons[t0 : t0 + step], dtype=np.float32)
        np.maximum(peak, block.max(axis=0), out=peak)
        if k == 1:
            moments.add(block)
        else:
            frames.add(block, pairs=False)
            block = np.concatenate([carry, block]) if len(carry) else block
            n_bins = len(block) // k
            carry = block[n_bins * k :].copy()
            if n_bins:
                binned = block[: n_bins * k].reshape(n_bins, k, height, width)
                moments.add(binned.sum(axis=1) * np.float32(1 / k))
        if progress is not None:
            progress(min(t0 + step, n_frames), n_frames)
    if n_frames == 0:
        raise ValueError("the movie has no frames")
    mean, std = frames.mean_sd()
    binned_mean, cov, corr = moments.result()
    # Interpolation during registration mixes neighbouring pixels' photon noise: a noise
    # covariance proportional to brightness, the same over the field for rigid shifts.
    # Its level is the median of cov / mean (most pixels hold no cell); removed here.
    floor = 0.0
    if moments.n > 1:
        floor = max(0.0, float(np.median(cov / np.maximum(binned_mean, 1e-6))))
    activity = np.sqrt(np.maximum(cov - floor * binned_mean, 0))
    return SummaryImages(
        mean=mean.astype(np.float32),
        max=peak,
        std=std.astype(np.float32),
        correlation=corr.astype(np.float32),
        activity=activity.astype(np.float32),
        n_frames=int(n_frames),
        bin_frames=k,
        noise_covariance=floor,
    )


# -- segmentation ---------------------------------------------------------------------


def _robust_threshold(image: np.ndarray, z: float) -> float:
    """Median plus ``z`` robust SDs, the SD taken from the values below the median.

    Cells only push values up, so the lower half of the distribution measures the
    spread of the background alone, even where cells are dense.
    """
    median = float(np.median(image))
    low = image[image < median]
    spread = 1.4826 * float(np.median(median - low)) if low.size else 0.0
    return median + z * max(spread, 1e-12)


def _merge_labels(labels: np.ndarray, image: np.ndarray, ratio: float) -> np.ndarray:
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
    labels = _merge_labels(labels, fp, merge_ratio)
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


def _highpass_mean(mean: np.ndarray, sigma: float,
                   contrast: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """Mean image minus its smooth background, cells left out of the background.

    The background is a Gaussian average (``sigma``) over pixels that are not
    ``contrast / 2`` above the current estimate (normalized convolution, twice), so a
    cell's own light does not raise the background under it. The image is extended
    past its edges by odd reflection (``2 * edge - mirror``), which continues a sloping
    background instead of folding it into a spurious bump or dip along the edges.
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
        threshold = _robust_threshold(corr, 4.0)
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


# -- metrics --------------------------------------------------------------------------


def roi_metrics(masks: np.ndarray, images: SummaryImages | None = None) -> dict[str, np.ndarray]:
    """Shape and image metrics of each ROI.

    Returns a dict of arrays of length n: ``area`` (pixels), ``centroid_y``/``centroid_x``,
    ``radius`` (of the disk of equal area), ``compactness`` (mean distance to the centroid
    of a disk of equal area over that of the ROI: 1 for a disk, smaller for elongated or
    ragged shapes), ``eccentricity``, ``solidity``, ``touches_border``; with ``images``:
    ``correlation`` (mean local correlation inside), ``peak_correlation``, ``activity``
    (mean shared-signal SD, photons), ``brightness`` (mean photons), ``contrast``
    (brightness over the mean of a ring one radius wide around the ROI, other ROIs left
    out, minus 1).
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


# -- the detector ---------------------------------------------------------------------


def detect_rois(
    movie: Any = None,
    *,
    method: str = "activity",
    images: SummaryImages | None = None,
    bin_frames: int = 1,
    threshold: float = 6.0,
    fraction: float = 0.3,
    min_area: int = 30,
    max_area: int = 500,
    min_distance: int = 3,
    merge_ratio: float = 0.6,
    smooth_sigma: float = 1.0,
    border: int = 0,
    anatomical: bool = True,
    anatomical_threshold: float = 8.0,
    anatomical_contrast: float = 0.08,
    anatomical_fraction: float = 0.3,
    anatomical_compactness: float = 0.9,
    background_sigma: float = 6.0,
    max_overlap: float = 0.2,
    traces: bool = True,
    neuropil_coefficient: float = 0.7,
    units: str = "auto",
    frames_per_chunk: int | None = None,
    progress: ProgressCallback | None = None,
) -> RoiResult:
    """Find ROIs from activity (and anatomy) and measure their quality.

    Parameters
    ----------
    movie : array-like, shape (t, y, x)
        Registered movie: photon counts, or a PhotonMovie (its photon view is used). May
        be None when ``images`` is given and ``traces`` is False.
    method : {"activity", "anatomical", "correlation"}
        ``"activity"``: seeds from the local-correlation image, shapes from the activity
        (neighbour covariance) image, plus anatomical ROIs for cells with no activity when
        ``anatomical`` is True. ``"anatomical"``: the high-passed mean image only.
        ``"correlation"``: the simple threshold-and-watershed :func:`detect`.
    images : SummaryImages, optional
        Precomputed by :func:`summary_images` (skips the first pass over the movie).
    bin_frames : int
        Frames per bin for the summary images.
    threshold : float
        Seeds: local maxima of the smoothed correlation image above its median plus
        ``threshold`` robust SDs (1.4826 x the median distance below the median).
    fraction : float
        A ROI keeps the connected pixels above this fraction of its peak activity.
    min_area, max_area : int
        Accepted ROI areas, pixels.
    min_distance : int
        Minimum distance between seeds, pixels.
    merge_ratio : float
        Neighbouring seeds are one cell when the saddle of the activity image between them
        is above this fraction of the lower peak (independent cells share almost none).
    smooth_sigma : float
        Gaussian smoothing (pixels) of the images before seeding and thresholding.
    border : int
        Pixels along each edge left out (no seeds, no ROI pixels): set it to the largest
        registration shift, as frames' edges there hold filled-in or wrapped data.
    anatomical : bool
        Add cells found in the mean image where no activity ROI is (method "activity").
    anatomical_threshold, anatomical_contrast, anatomical_fraction : float
        Anatomical seeds: local maxima of the high-passed mean image at least
        ``anatomical_threshold`` photon-noise SDs of the mean image and
        ``anatomical_contrast`` times the local background above that background; ROI
        pixels above ``anatomical_fraction`` of the peak. An anatomical ROI is kept when
        its ``contrast`` metric (against a ring around it) reaches
        ``anatomical_contrast`` too.
    anatomical_compactness : float
        ... and its ``compactness`` metric reaches this (1 = a disk).
    background_sigma : float
        Gaussian sigma (pixels) of the background removed from the mean image.
    max_overlap : float
        An anatomical ROI overlapping activity ROIs by more than this fraction of its area
        is dropped as a duplicate.
    traces : bool
        Second pass: extract neuropil-corrected traces for the ``snr`` and ``skew``
        metrics (:func:`napari_photon.traces.extract_all`).
    neuropil_coefficient : float
        For those traces.
    units : {"auto", "photons", "stabilized"}
        See :func:`summary_images`.
    frames_per_chunk : int, optional
        Default: the movie's ``frames_per_chunk`` attribute, else 64.
    progress : callable(done, total), optional
        Frames done over all passes (``total`` = frames x passes).

    Returns
    -------
    RoiResult
        ``metrics`` also holds ``anatomical`` (bool: found in the mean image only) and
        ``seed_y``/``seed_x``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    params = {k: v for k, v in locals().items()
              if k not in ("movie", "images", "progress", "frames_per_chunk")}
    if frames_per_chunk is None:
        frames_per_chunk = int(getattr(movie, "frames_per_chunk", 64) or 64)
    n_passes = int(images is None) + int(bool(traces))
    n_frames = len(movie) if movie is not None else images.n_frames

    def staged(index: int) -> ProgressCallback | None:
        if progress is None:
            return None
        return lambda done, total: progress(index * n_frames + done, n_passes * n_frames)

    if images is None:
        if movie is None:
            raise ValueError("give a movie or precomputed images")
        images = summary_images(movie, frames_per_chunk, staged(0), bin_frames=bin_frames,
                                units=units)
    shape = images.mean.shape
    seg = {"min_area": min_area, "max_area": max_area, "min_distance": min_distance,
               "merge_ratio": merge_ratio, "smooth_sigma": smooth_sigma, "border": border}
    masks = np.zeros((0, *shape), bool)
    seeds = np.zeros((0, 2), int)
    if method == "correlation":
        masks = detect(images, min_area=min_area, max_area=max_area)
        seeds = np.array([np.unravel_index(np.argmax(np.where(m, images.correlation, -2)),
                                           shape) for m in masks], int).reshape(-1, 2)
    elif method == "activity":
        corr = ndimage.gaussian_filter(images.correlation, smooth_sigma)
        activity = images.activity if images.activity is not None else images.std
        masks, seeds = segment(activity, corr, _robust_threshold(corr, threshold),
                               fraction=fraction, **seg)
    from_anatomy = np.zeros(len(masks), bool)
    if method == "anatomical" or (method == "activity" and anatomical):
        a_masks, a_seeds = _anatomical(images.mean, images.n_frames, anatomical_threshold,
                                       anatomical_contrast, anatomical_fraction,
                                       background_sigma, seg)
        if len(masks) and len(a_masks):
            union = masks.any(axis=0)
            overlap = (a_masks & union).sum(axis=(1, 2)) / a_masks.sum(axis=(1, 2))
            new = (overlap <= max_overlap) & ~union[tuple(a_seeds.T)]
            a_masks, a_seeds = a_masks[new], a_seeds[new]
        masks = np.concatenate([masks, a_masks])
        seeds = np.concatenate([seeds, a_seeds])
        from_anatomy = np.r_[from_anatomy, np.ones(len(a_masks), bool)]
        if from_anatomy.any():  # keep round blobs that stand out of their surroundings
            shape_ok = roi_metrics(masks, images)
            keep = ~from_anatomy | (
                (shape_ok["compactness"] >= anatomical_compactness)
                & (shape_ok["contrast"] >= anatomical_contrast))
            masks, seeds, from_anatomy = masks[keep], seeds[keep], from_anatomy[keep]
    metrics = roi_metrics(masks, images)
    metrics["anatomical"] = from_anatomy
    metrics["seed_y"] = seeds[:, 0].astype(np.int32)
    metrics["seed_x"] = seeds[:, 1].astype(np.int32)
    if traces and movie is not None:
        from . import traces as _traces

        result = _traces.extract_all(
            _photon_view(movie, units), masks, neuropil_coefficient=neuropil_coefficient,
            frames_per_chunk=frames_per_chunk, progress=staged(n_passes - 1))
        metrics.update(_traces.trace_metrics(result))
    return RoiResult(masks=masks, metrics=metrics, images=images, params=params)


def _anatomical(mean: np.ndarray, n_frames: int, threshold: float, contrast: float,
                fraction: float, background_sigma: float,
                seg: dict) -> tuple[np.ndarray, np.ndarray]:
    """Cells as blobs of the high-passed mean image.

    A seed must stand ``threshold`` photon-noise SDs of the mean image
    (``sqrt(mean / n_frames)``) above the background and be at least ``contrast`` times
    brighter than it.
    """
    highpass, background = _highpass_mean(mean, background_sigma, contrast)
    smooth = ndimage.gaussian_filter(highpass, seg["smooth_sigma"])
    noise = np.sqrt(np.maximum(background, 1e-3) / max(n_frames, 1))
    ok = (smooth >= threshold * noise) & (smooth >= contrast * np.maximum(background, 1e-6))
    seed_image = np.where(ok, smooth / np.maximum(background, 1e-6), 0)
    masks, seeds = segment(highpass, seed_image, 1e-9, fraction=fraction,
                           base_percentile=10.0, **seg)
    return masks, seeds


# -- evaluation -----------------------------------------------------------------------


def match_rois(
    truth: np.ndarray, found: np.ndarray, iou_threshold: float = 0.5
) -> dict[str, Any]:
    """Match found ROIs to ground truth (Hungarian on IoU) and score them.

    Parameters
    ----------
    truth, found : ndarray of bool, shape (n, y, x) and (m, y, x)
    iou_threshold : float
        A matched pair counts as a true positive when its IoU reaches this.

    Returns
    -------
    dict
        ``f1``, ``precision``, ``recall``, ``tp``, ``n_truth``, ``n_found``, ``pairs``
        (int array (tp, 2) of (truth index, found index)), ``iou`` (IoU of those pairs),
        ``mean_iou``.
    """
    truth = np.asarray(truth, bool)
    found = np.asarray(found, bool)
    g = truth.reshape(len(truth), truth[0].size if len(truth) else 0).astype(np.float32)
    f = found.reshape(len(found), found[0].size if len(found) else 0).astype(np.float32)
    pairs = np.zeros((0, 2), int)
    ious = np.zeros(0, np.float32)
    if len(g) and len(f):
        inter = g @ f.T
        union = g.sum(1)[:, None] + f.sum(1)[None, :] - inter
        iou = inter / np.maximum(union, 1)
        rows, cols = linear_sum_assignment(-iou)
        ok = iou[rows, cols] >= iou_threshold
        pairs = np.c_[rows[ok], cols[ok]]
        ious = iou[rows[ok], cols[ok]].astype(np.float32)
    tp = len(pairs)
    precision = tp / len(f) if len(f) else 0.0
    recall = tp / len(g) if len(g) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "tp": tp, "n_truth": len(g),
                "n_found": len(f), "pairs": pairs, "iou": ious,
                "mean_iou": float(ious.mean()) if tp else 0.0}
