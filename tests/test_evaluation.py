"""Scoring against ground truth (napari_photon.evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_photon.evaluation import match_rois, true_neuropil_coefficients


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


def test_true_neuropil_coefficients_recovers_the_slope_under_a_slow_drift():
    rng = np.random.default_rng(0)
    measured = rng.normal(size=(3, 2000)).cumsum(axis=1) * 0.1 + rng.normal(size=(3, 2000))
    slopes = np.array([0.3, 0.7, 1.1])
    drift = np.linspace(0, 50, 2000)  # slow, removed by the high-pass
    contamination = slopes[:, None] * measured + drift
    np.testing.assert_allclose(true_neuropil_coefficients(contamination, measured), slopes,
                               atol=0.02)


def test_true_neuropil_coefficients_names_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        true_neuropil_coefficients(np.ones((2, 10)), np.ones((3, 10)))
