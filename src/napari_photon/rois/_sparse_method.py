"""The ``"sparse"`` method of :func:`~napari_photon.rois.detect_rois`: cells from sparse
activity (:mod:`._sparse`), kept when soma-shaped (:mod:`._kinds`), plus still cells from
the mean image where no active cell is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._anatomical import anatomical_rois, highpass_mean
from ._kinds import KINDS, classify, footprint_edge
from ._metrics import roi_metrics
from ._sparse import binned_highpass, sparse_rois
from ._summary import ProgressCallback


@dataclass(frozen=True)
class SparseSettings:
    """The ``"sparse"`` method's settings (keyword arguments of ``detect_rois``).

    Attributes
    ----------
    radius : float
        Typical soma radius, px.
    max_size : float
        A cell's mask may reach ``max_size`` radii from its centre (area at most
        ``pi * (max_size * radius) ** 2``, and ``max_area``): larger ones are diffuse
        neuropil or several cells.
    mask_fraction : float
        A cell's mask: the connected pixels of its footprint above this fraction of its
        peak (0.25: the rim of a soma).
    activity_bin_frames : int
        Frames per bin of the activity movie, at most (fewer for short movies, so that
        there are at least 50 bins); 10 frames is a third of a second at 30 Hz.
    highpass_sigma : float
        Gaussian sigma, px, of the smooth part taken out of every bin (neuropil).
    temporal_window : int
        Bins of the running mean taken out (bleaching, drift).
    z_threshold, score_threshold : float
        See :func:`~napari_photon.rois._sparse.sparse_rois`.
    min_relative_score : float
        A cell's score must also reach this fraction of the median score of the cells
        found: subtracting a cell leaves a residual in proportion to its brightness, so
        in a field of bright cells a seed thirty times weaker than the typical cell is
        what was left over of one.
    max_rois : int
        Seeds tried at most.
    min_compactness, max_edge : float
        Soma shape (see :func:`~napari_photon.rois._kinds.classify`).
    anatomical_max_edge, anatomical_min_contrast : float
        A still cell from the mean image must have a sharp edge in the high-passed mean
        image and be this much brighter than its background.
    somata_only : bool
        Leave processes, out-of-focus and irregular ROIs out (True), or keep them with
        their ``kind`` metric for curation.
    """

    radius: float = 6.0
    max_size: float = 1.6
    mask_fraction: float = 0.25
    activity_bin_frames: int = 10
    highpass_sigma: float = 12.0
    temporal_window: int = 30
    z_threshold: float = 3.0
    score_threshold: float = 0.35
    min_relative_score: float = 0.03
    max_rois: int = 6000
    min_compactness: float = 0.88
    max_edge: float = 0.12
    anatomical_max_edge: float = 0.3
    anatomical_min_contrast: float = 0.4
    somata_only: bool = True


def sparse_detect(photons: Any, images: Any, settings: SparseSettings, seg: dict,
                  anatomical: bool, anatomical_args: dict, max_overlap: float,
                  frames_per_chunk: int, progress: ProgressCallback | None,
                  client: Any = None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Masks, seeds and the ``kind``/``edge``/``overlap``/``activity_score``/
    ``anatomical`` metrics (``activity_score``: the seed's score when taken, 0 for still
    cells; ``overlap``: see :func:`shared_fraction`)."""
    n_frames = len(photons)
    bin_frames = max(1, min(int(settings.activity_bin_frames), n_frames // 50))
    movie = binned_highpass(photons, frames_per_chunk, bin_frames, settings.highpass_sigma,
                            settings.temporal_window, progress, client)
    masks, seeds, scores, footprints = sparse_rois(
        movie, radius=settings.radius, fraction=settings.mask_fraction,
        z_threshold=settings.z_threshold, score_threshold=settings.score_threshold,
        min_area=seg["min_area"],
        max_area=min(seg["max_area"], int(np.pi * (settings.max_size * settings.radius) ** 2)), border=seg["border"],
        max_rois=settings.max_rois)
    del movie
    if len(scores):
        strong = scores >= settings.min_relative_score * float(np.median(scores))
        masks, seeds, scores, footprints = (masks[strong], seeds[strong], scores[strong],
                                            footprints[strong])
    kinds, shape = classify(masks, footprints, min_compactness=settings.min_compactness,
                            max_edge=settings.max_edge)
    edge = shape["edge"]
    if settings.somata_only:
        soma = kinds == KINDS.index("soma")
        masks, seeds, kinds, edge, scores = (masks[soma], seeds[soma], kinds[soma],
                                             edge[soma], scores[soma])
    from_anatomy = np.zeros(len(masks), bool)
    if anatomical:
        a_masks, a_seeds = anatomical_rois(images.mean, images.n_frames, **anatomical_args,
                                           seg=seg)
        if len(a_masks):
            union = masks.any(axis=0) if len(masks) else np.zeros(images.mean.shape, bool)
            overlap = (a_masks & union).sum(axis=(1, 2)) / a_masks.sum(axis=(1, 2))
            new = (overlap <= max_overlap) & ~union[tuple(a_seeds.T)]
            a_masks, a_seeds = a_masks[new], a_seeds[new]
            highpass, background = highpass_mean(images.mean, anatomical_args["background_sigma"])
            relative = highpass / np.maximum(background, 1e-6)
            a_edge = footprint_edge(a_masks, np.broadcast_to(relative, a_masks.shape))
            contrast = np.array([relative[m].mean() for m in a_masks], np.float32)
            compact = roi_metrics(a_masks)["compactness"] >= 0.9
            keep = compact & (a_edge <= settings.anatomical_max_edge) & (
                contrast >= settings.anatomical_min_contrast)
            masks = np.concatenate([masks, a_masks[keep]])
            seeds = np.concatenate([seeds, a_seeds[keep]])
            kinds = np.r_[kinds, np.zeros(int(keep.sum()), np.int8)]
            edge = np.r_[edge, a_edge[keep]]
            scores = np.r_[scores, np.zeros(int(keep.sum()), np.float32)]
            from_anatomy = np.r_[from_anatomy, np.ones(int(keep.sum()), bool)]
    return masks, seeds, {"kind": kinds.astype(np.int8), "edge": edge.astype(np.float32),
                          "overlap": shared_fraction(masks),
                          "activity_score": scores.astype(np.float32),
                          "anatomical": from_anatomy}


def shared_fraction(masks: np.ndarray) -> np.ndarray:
    """Fraction of each ROI's pixels that other ROIs also hold, float32 ``(n,)``."""
    if not len(masks):
        return np.zeros(0, np.float32)
    count = masks.sum(axis=0, dtype=np.int32)
    shared = ((count > 1)[None] & masks).sum(axis=(1, 2))
    return (shared / np.maximum(masks.sum(axis=(1, 2)), 1)).astype(np.float32)
