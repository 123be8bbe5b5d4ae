"""Scoring algorithm outputs against ground truth (synthetic movies, annotated data).

Kept apart from the algorithms: nothing in :mod:`napari_photon.rois` or
:mod:`napari_photon.motion` needs the truth to run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["match_rois"]


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
