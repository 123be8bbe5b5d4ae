"""Scoring against ground truth (napari_photon.evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_photon.evaluation import match_rois


def test_match_rois():
    masks = np.zeros((3, 20, 20), bool)
    masks[0, :5, :5] = masks[1, 10:15, 10:15] = masks[2, 0:5, 12:17] = True
    assert match_rois(masks, masks)["f1"] == 1.0
    half = masks[:2].copy()
    half[0, :5, 3:5] = False  # IoU 0.6 still matches, at a lower IoU
    score = match_rois(masks, half)
    assert score["tp"] == 2 and score["precision"] == 1.0
    assert score["recall"] == pytest.approx(2 / 3)
    assert match_rois(masks, half, iou_threshold=0.7)["tp"] == 1
    assert match_rois(masks, np.zeros((0, 20, 20), bool))["f1"] == 0.0
