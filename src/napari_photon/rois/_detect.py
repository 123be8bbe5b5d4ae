"""The ROI detector: activity first, anatomy for still cells, then quality metrics.

:func:`detect_rois` seeds cells at local maxima of the smoothed correlation image, grows
them on the activity image (:func:`~napari_photon.rois.segment`), adds anatomical ROIs
where no activity ROI lies (:mod:`._anatomical`), and measures every ROI
(:func:`~napari_photon.rois.roi_metrics`, plus the SNR and skewness of its
neuropil-corrected trace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from .._frames import work_frames
from ._anatomical import anatomical_rois
from ._correlation_method import detect
from ._metrics import roi_metrics
from ._photons import photon_view
from ._segment import robust_threshold, segment
from ._sparse_method import SparseSettings, shared_fraction, sparse_detect
from ._summary import ProgressCallback, SummaryImages, summary_images

METHODS = ("auto", "sparse", "activity", "anatomical", "correlation")
#: ``method="auto"`` detects with ``"sparse"`` from this many frames on, ``"activity"``
#: below (a few seconds of data hold too few transients for sparse activity)
SPARSE_MIN_FRAMES = 500
SPARSE_SETTINGS = tuple(SparseSettings.__dataclass_fields__)


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


def detect_rois(
    movie: Any = None,
    *,
    method: str = "auto",
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
    neuropil_coefficient: float | str = "auto",
    units: str = "auto",
    frames_per_chunk: int | None = None,
    progress: ProgressCallback | None = None,
    radius: float = 6.0,
    max_size: float = 1.6,
    mask_fraction: float = 0.25,
    activity_bin_frames: int = 10,
    highpass_sigma: float = 12.0,
    temporal_window: int = 30,
    z_threshold: float = 3.0,
    score_threshold: float = 0.35,
    min_relative_score: float = 0.03,
    max_rois: int = 6000,
    min_compactness: float = 0.88,
    max_edge: float = 0.12,
    anatomical_max_edge: float = 0.3,
    anatomical_min_contrast: float = 0.4,
    somata_only: bool = True,
    client: Any = None,
) -> RoiResult:
    """Find ROIs from activity (and anatomy) and measure their quality.

    Parameters
    ----------
    movie : array-like, shape (t, y, x)
        Registered movie: photon counts, or a PhotonMovie (its photon view is used). May
        be None when ``images`` is given and ``traces`` is False.
    method : {"auto", "sparse", "activity", "anatomical", "correlation"}
        ``"auto"`` (default): ``"sparse"`` for movies of at least
        :data:`SPARSE_MIN_FRAMES` frames, ``"activity"`` for shorter ones (too few
        transients; ``params["method_used"]`` says which ran).
        ``"sparse"``: cells found one at a time in the binned, high-passed movie (active
        neuropil, bleaching and drift taken out; overlapping cells separated by
        subtracting each cell found), kept when soma-shaped (compact, with a sharp edge:
        processes and out-of-focus somata are left out), plus still cells from the mean
        image (with ``anatomical``); its settings are the fields of
        :class:`~napari_photon.rois._sparse_method.SparseSettings` (keyword arguments
        below). It needs the movie.
        ``"activity"``: seeds from the local-correlation image, shapes from the activity
        (neighbour covariance) image, plus anatomical ROIs for cells with no activity
        when ``anatomical`` is True. ``"anatomical"``: the high-passed mean image only.
        ``"correlation"``: the simple threshold-and-watershed :func:`detect`.
    images : SummaryImages, optional
        Precomputed by :func:`summary_images` (skips the first pass over the movie).
    bin_frames : int
        Frames per bin for the summary images.
    threshold : float
        Seeds: local maxima of the smoothed correlation image above its median plus
        ``threshold`` robust SDs (1.4826 x the median distance below the median).
    fraction : float
        A ROI keeps the connected pixels above this fraction of its peak activity
        (``"activity"``; the sparse method has ``mask_fraction``).
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
    neuropil_coefficient : float or "auto"
        For those traces (``"auto"``: each ROI's own, see
        :func:`napari_photon.neuropil.estimate_coefficients`).
    units : {"auto", "photons", "stabilized"}
        See :func:`summary_images`.
    frames_per_chunk : int, optional
        Default: the movie's ``frames_per_chunk`` attribute (a stored shard) split into
        blocks of at most 64 frames (:func:`~napari_photon._frames.work_frames`).
    progress : callable(done, total), optional
        Frames done over all passes (``total`` = frames x passes).
    radius, max_size, mask_fraction, activity_bin_frames, highpass_sigma, temporal_window,
    z_threshold, score_threshold, min_relative_score, max_rois, min_compactness, max_edge,
    anatomical_max_edge, anatomical_min_contrast, somata_only
        Settings of the ``"sparse"`` method: see
        :class:`~napari_photon.rois._sparse_method.SparseSettings`.
    client : dask.distributed.Client, optional
        Run the passes over the movie (summary images, the sparse method's binned movie,
        the traces) on this cluster; default the package's threads. Seeding and
        segmentation run here.

    Returns
    -------
    RoiResult
        ``metrics`` also holds ``anatomical`` (bool: found in the mean image only),
        ``overlap`` (fraction of the ROI's pixels other ROIs hold too) and
        ``seed_y``/``seed_x``; the ``"sparse"`` method adds ``kind`` (index into
        :data:`~napari_photon.rois.KINDS`: soma, process, out of focus, irregular) and
        ``edge``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        long_enough = movie is not None and len(movie) >= SPARSE_MIN_FRAMES
        method_used = "sparse" if long_enough else "activity"
    else:
        method_used = method
    if method == "sparse" and movie is None:
        raise ValueError("the sparse method needs the movie (it reads it binned); give a "
                         "movie, or use method='activity' with precomputed images")
    params = {k: v for k, v in locals().items()
              if k not in ("movie", "images", "progress", "frames_per_chunk", "long_enough",
                           "client")}
    sparse = SparseSettings(**{k: params[k] for k in SPARSE_SETTINGS})
    method = method_used
    if frames_per_chunk is None:
        frames_per_chunk = work_frames(getattr(movie, "frames_per_chunk", None))
    n_passes = int(images is None) + int(bool(traces)) + int(method == "sparse")
    n_frames = len(movie) if movie is not None else images.n_frames

    def staged(index: int) -> ProgressCallback | None:
        if progress is None:
            return None
        return lambda done, total: progress(index * n_frames + done, n_passes * n_frames)

    images_computed = images is None
    if images is None:
        if movie is None:
            raise ValueError("give a movie or precomputed images")
        images = summary_images(movie, frames_per_chunk, staged(0), bin_frames=bin_frames,
                                units=units, client=client)
    shape = images.mean.shape
    seg = {"min_area": min_area, "max_area": max_area, "min_distance": min_distance,
               "merge_ratio": merge_ratio, "smooth_sigma": smooth_sigma, "border": border}
    masks = np.zeros((0, *shape), bool)
    seeds = np.zeros((0, 2), int)
    extra: dict[str, np.ndarray] = {}
    if method == "correlation":
        masks = detect(images, min_area=min_area, max_area=max_area)
        seeds = np.array([np.unravel_index(np.argmax(np.where(m, images.correlation, -2)),
                                           shape) for m in masks], int).reshape(-1, 2)
    elif method == "sparse":
        masks, seeds, extra = sparse_detect(
            photon_view(movie, units), images, sparse, seg, anatomical,
            {"threshold": anatomical_threshold, "contrast": anatomical_contrast,
             "fraction": anatomical_fraction, "background_sigma": background_sigma},
            max_overlap, frames_per_chunk, staged(int(images_computed)), client)
    elif method == "activity":
        corr = ndimage.gaussian_filter(images.correlation, smooth_sigma)
        activity = images.activity if images.activity is not None else images.std
        masks, seeds = segment(activity, corr, robust_threshold(corr, threshold),
                               fraction=fraction, **seg)
    from_anatomy = np.zeros(len(masks), bool)
    if method == "anatomical" or (method == "activity" and anatomical):
        a_masks, a_seeds = anatomical_rois(images.mean, images.n_frames,
                                           anatomical_threshold, anatomical_contrast,
                                           anatomical_fraction, background_sigma, seg)
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
    metrics["anatomical"] = extra.pop("anatomical", from_anatomy)
    metrics.update(extra)
    metrics.setdefault("overlap", shared_fraction(masks))
    metrics["seed_y"] = seeds[:, 0].astype(np.int32)
    metrics["seed_x"] = seeds[:, 1].astype(np.int32)
    if traces and movie is not None:
        from .. import traces as _traces

        result = _traces.extract_all(
            photon_view(movie, units), masks, neuropil_coefficient=neuropil_coefficient,
            frames_per_chunk=frames_per_chunk, progress=staged(n_passes - 1), client=client)
        metrics.update(_traces.trace_metrics(result))
    return RoiResult(masks=masks, metrics=metrics, images=images, params=params)
