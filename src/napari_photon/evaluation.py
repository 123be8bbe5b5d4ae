"""Scoring algorithm outputs against ground truth (synthetic movies, annotated data).

Kept apart from the algorithms: nothing in :mod:`napari_photon.rois` or
:mod:`napari_photon.motion` needs the truth to run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

__all__ = [
    "decoy_hits",
    "match_rois",
    "recall_by_category",
    "row_correlation",
    "true_neuropil_coefficients",
]


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


def recall_by_category(score: dict[str, Any], categories: dict[str, np.ndarray]
                       ) -> dict[str, tuple[int, int]]:
    """``(matched, total)`` ground-truth cells of each category.

    Parameters
    ----------
    score : dict
        From :func:`match_rois` (its ``pairs``).
    categories : dict of str -> ndarray of bool, shape (n_truth,)
    """
    matched = np.zeros(int(score["n_truth"]), bool)
    matched[np.asarray(score["pairs"], int)[:, 0]] = True
    return {name: (int((matched & members).sum()), int(members.sum()))
            for name, members in categories.items()}


def decoy_hits(found: np.ndarray, score: dict[str, Any], decoys: np.ndarray,
               min_cover: float = 0.5) -> int:
    """Unmatched found ROIs lying mostly (``min_cover`` of their pixels) on decoys.

    Decoys are things that look like cells and are not (out-of-focus somata, processes):
    this counts the false positives they caused.
    """
    found = np.asarray(found, bool)
    if not len(found) or not len(decoys):
        return 0
    unmatched = np.setdiff1d(np.arange(len(found)), np.asarray(score["pairs"], int)[:, 1])
    union = np.asarray(decoys, bool).any(axis=0)
    areas = found[unmatched].sum(axis=(1, 2))
    cover = (found[unmatched] & union).sum(axis=(1, 2)) / np.maximum(areas, 1)
    return int((cover >= min_cover).sum())


def row_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row of ``a`` with the same row of ``b`` (NaN where either is
    constant), float64 ``(n,)``."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"row_correlation needs equal shapes, got {a.shape} and {b.shape}")
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=-1) / np.where(den > 0, den, 1), np.nan)


def true_neuropil_coefficients(
    contamination: np.ndarray, measured_neuropil: np.ndarray, highpass_frames: float = 30.0
) -> np.ndarray:
    """The contamination coefficient each ROI really has, from a simulator's truth.

    The slope of the true out-of-focus signal inside each mask on the measured annulus
    trace, both high-passed (a Gaussian of ``highpass_frames``) so that slow baseline and
    bleaching do not enter: the coefficient a perfect estimator would return.

    Parameters
    ----------
    contamination : ndarray, shape (n, t)
        Mean neuropil photons inside each mask, e.g. ``TissueMovie.neuropil_in(masks)``.
    measured_neuropil : ndarray, shape (n, t)
        The annulus traces the extraction measured (``TraceResult.neuropil``).
    highpass_frames : float
        Width of the Gaussian removed before the fit.

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    contamination = np.asarray(contamination, np.float64)
    measured = np.asarray(measured_neuropil, np.float64)
    if contamination.shape != measured.shape:
        raise ValueError(
            f"contamination {contamination.shape} and measured neuropil {measured.shape} "
            "must both be (rois, frames) of the same shape"
        )
    high = [x - ndimage.gaussian_filter1d(x, highpass_frames, axis=-1, mode="nearest")
            for x in (contamination, measured)]
    return (high[0] * high[1]).sum(-1) / np.maximum((high[1] ** 2).sum(-1), 1e-12)
