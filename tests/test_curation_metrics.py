"""Metrics of new ROIs: the detection's roi_metrics on a window, only where ROIs changed."""

from __future__ import annotations

import numpy as np
import pytest
from curation_helpers import SHAPE, disk_mask, sample_images, sample_masks, sample_set

from napari_photon.curation import measure, merge, metric_names
from napari_photon.curation._metrics import assemble
from napari_photon.rois import roi_metrics


def _close(found: dict, expected: dict, rows) -> None:
    for name, values in expected.items():
        np.testing.assert_allclose(np.asarray(found[name], np.float64),
                                   np.asarray(values, np.float64)[rows], rtol=1e-5,
                                   err_msg=name)


def test_measure_equals_roi_metrics_over_the_whole_set():
    masks, images = sample_masks(), sample_images()  # overlaps, a border ROI
    pixels = [np.flatnonzero(m) for m in masks]
    expected = roi_metrics(masks, images)
    _close(measure(pixels, SHAPE, images), expected, slice(None))
    # one ROI alone, with the coverage of the whole set: the same values
    one = measure(pixels[2:3], SHAPE, images, coverage=masks.any(axis=0))
    _close(one, expected, [2])
    assert measure(pixels[4:5], SHAPE, images)["touches_border"][0]


def test_measure_without_images_gives_the_shape_metrics():
    masks = sample_masks()
    found = measure([np.flatnonzero(m) for m in masks], SHAPE)
    assert tuple(found) == metric_names(None)
    assert "correlation" not in found and "correlation" in metric_names(sample_images())
    _close(found, roi_metrics(masks), slice(None))
    assert found["area"].dtype == np.int32 and found["touches_border"].dtype == bool


def test_contrast_ring_leaves_out_the_other_rois_of_the_set():
    images = sample_images()
    roi = np.flatnonzero(disk_mask((30, 44), 6))
    neighbour = disk_mask((30, 53), 3)
    alone = measure([roi], SHAPE, images)["contrast"][0]
    coverage = disk_mask((30, 44), 6) | neighbour
    beside = measure([roi], SHAPE, images, coverage=coverage)["contrast"][0]
    assert alone != pytest.approx(beside)
    expected = roi_metrics(np.array([disk_mask((30, 44), 6), neighbour]), images)["contrast"][0]
    assert beside == pytest.approx(expected)


def test_an_action_measures_only_the_rois_it_made():
    roiset = sample_set()
    merged = merge(roiset, [2, 3])
    expected = roi_metrics(merged.masks(), sample_images())
    _close({k: v[[2]] for k, v in merged.metrics.items()}, expected, [2])
    # untouched ROIs keep their values exactly (not re-measured)
    for old, new in [(0, 0), (1, 1), (4, 3), (5, 4)]:
        for name in roiset.metrics:
            assert merged.metrics[name][new] == roiset.metrics[name][old] or (
                np.isnan(merged.metrics[name][new]) and np.isnan(roiset.metrics[name][old]))


def test_assemble_takes_rows_fills_new_ones_and_nan_for_unknown_names():
    old = {"area": np.array([10, 20, 30], np.int32), "snr": np.array([1.0, 2.0, 3.0]),
           "touches": np.array([True, False, True])}
    take = np.array([0, 2, -1])
    out = assemble(old, take, [2], {"area": np.array([99], np.int32),
                                    "touches": np.array([False])})
    assert out["area"].tolist() == [10, 30, 99] and out["area"].dtype == np.int32
    assert out["snr"][:2].tolist() == [1.0, 3.0] and np.isnan(out["snr"][2])
    assert out["touches"].tolist() == [True, True, False]
    assert not out["area"].flags.writeable
    int_only = assemble({"n": np.array([1, 2])}, np.array([1, -1]), [1], {})
    assert int_only["n"].dtype.kind == "f" and int_only["n"][0] == 2 and np.isnan(
        int_only["n"][1])
    from_empty = assemble({"n": np.zeros(0)}, np.array([-1]), [0], {"n": np.array([4.0])})
    assert from_empty["n"].tolist() == [4.0]
