"""RoiSet and CuratedRoi: sparse storage, dense views on request, checks, immutability."""

from __future__ import annotations

import numpy as np
import pytest
from curation_helpers import SHAPE, dense_label_image, sample_images, sample_masks, sample_set

from napari_photon.curation import CuratedRoi, CurationError, RoiSet
from napari_photon.rois import roi_metrics


def test_from_masks_keeps_each_roi_sparse_and_gives_the_masks_back():
    masks = sample_masks()
    roiset = RoiSet.from_masks(masks)
    assert len(roiset) == len(masks)
    assert np.array_equal(roiset.masks(), masks)
    assert np.array_equal(roiset.mask(3), masks[3])
    assert np.array_equal(roiset.masks([4, 1]), masks[[4, 1]])
    for i, roi in enumerate(roiset):
        assert roi.pixels.dtype == np.int32 and roi.pixels.ndim == 1
        assert np.array_equal(roi.pixels, np.flatnonzero(masks[i]))
        assert not roi.pixels.flags.writeable
        assert roi.sources == (i,) and roi.origin == "detected" and roi.label == "cell"
    assert roiset.labels == ("cell",) * len(masks)
    ys, xs = roiset.coords(2)
    assert np.array_equal(masks[2][ys, xs], np.ones(len(ys), bool))
    assert np.array_equal(roiset.areas, masks.sum(axis=(1, 2)))


def test_from_masks_measures_metrics_like_the_detection_or_keeps_given_ones():
    masks, images = sample_masks(), sample_images()
    roiset = RoiSet.from_masks(masks, images=images)
    expected = roi_metrics(masks, images)
    assert set(roiset.metrics) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(roiset.metrics[name], expected[name])
    given = {"snr": np.arange(6.0), "area": masks.sum(axis=(1, 2))}
    kept = RoiSet.from_masks(masks, metrics=given, labels=["cell", "not cell", "unsure"] * 2)
    assert set(kept.metrics) == {"snr", "area"}
    assert np.array_equal(kept.metric("snr"), np.arange(6.0))
    assert kept.labels == ("cell", "not cell", "unsure") * 2
    assert np.array_equal(kept.is_cell(), [True, False, False, True, False, False])


def test_label_image_later_roi_wins_and_roi_at_gives_the_topmost():
    masks = sample_masks()
    roiset = RoiSet.from_masks(masks)
    image = roiset.label_image()
    assert image.dtype == np.int32
    assert np.array_equal(image, dense_label_image(masks))
    overlap = np.argwhere(masks[2] & masks[3])[0]
    assert roiset.roi_at(*overlap) == 3
    only_2 = np.argwhere(masks[2] & ~masks[3])[0]
    assert roiset.roi_at(*only_2) == 2
    assert roiset.roi_at(47, 0) is None  # background
    assert roiset.roi_at(-1, 5) is None and roiset.roi_at(5, 64) is None  # outside
    image[:] = 0  # a copy: the set is unchanged
    assert roiset.roi_at(*overlap) == 3
    assert np.array_equal(roiset.coverage(), masks.any(axis=0))


def test_equality_covers_pixels_labels_origins_sources_and_nan_metrics():
    a, b = sample_set(), sample_set()
    assert a == b and a is not b
    assert a == a.with_images(None)  # images are context, not state
    rois = list(a.rois)
    rois[1] = rois[1].with_label("unsure")
    assert RoiSet(a.shape, rois, a.metrics) != a
    rois = list(a.rois)
    rois[1] = CuratedRoi(rois[1].pixels, "cell", "merged", rois[1].sources)
    assert RoiSet(a.shape, rois, a.metrics) != a
    rois = list(a.rois)
    rois[1] = CuratedRoi(rois[1].pixels, "cell", "detected", (7,))
    assert RoiSet(a.shape, rois, a.metrics) != a
    rois = list(a.rois)
    rois[1] = CuratedRoi(rois[1].pixels[1:], "cell", "detected", (1,))
    assert RoiSet(a.shape, rois, a.metrics) != a
    metrics = dict(a.metrics)
    metrics["contrast"] = metrics["contrast"].copy()
    metrics["contrast"][0] = np.nan
    with_nan = RoiSet(a.shape, a.rois, metrics)
    assert with_nan == RoiSet(a.shape, a.rois, metrics) and with_nan != a
    assert CuratedRoi(np.array([1, 2])) == CuratedRoi(np.array([1, 2], np.int64))
    assert hash(CuratedRoi(np.array([1, 2]))) == hash(CuratedRoi(np.array([1, 2])))


def test_a_set_cannot_be_changed_in_place():
    roiset = sample_set()
    with pytest.raises(ValueError):
        roiset.rois[0].pixels[0] = 5
    with pytest.raises(ValueError):
        roiset.metrics["area"][0] = 5
    with pytest.raises(TypeError):
        roiset.metrics["area"] = np.zeros(6)
    with pytest.raises(AttributeError):
        roiset.shape = (1, 1)
    pixels = np.array([3, 4, 9])
    roi = CuratedRoi(pixels)
    pixels[0] = 0  # the caller's array was copied
    assert roi.pixels[0] == 3


@pytest.mark.parametrize("pixels, message", [
    (np.array([], np.int32), "at least one pixel"),
    (np.array([5, 3]), "sorted"),
    (np.array([3, 3]), "sorted"),
    (np.array([-1, 3]), "non-negative"),
    (np.array([[1, 2]]), "1-D"),
    (np.array([1.0, 2.0]), "integer"),
])
def test_bad_roi_pixels_are_refused(pixels, message):
    with pytest.raises(CurationError, match=message):
        CuratedRoi(pixels)


def test_bad_labels_origins_and_sets_are_refused():
    with pytest.raises(CurationError, match="unknown label 'neuron'.*cell, not cell, unsure"):
        CuratedRoi(np.array([1]), label="neuron")
    with pytest.raises(CurationError, match="unknown origin 'guessed'"):
        CuratedRoi(np.array([1]), origin="guessed")
    with pytest.raises(CurationError, match="outside the 48x64 frame"):
        RoiSet(SHAPE, (CuratedRoi(np.array([48 * 64])),))
    with pytest.raises(CurationError, match=r"metric 'area' has shape \(2,\).*\(1,\)"):
        RoiSet(SHAPE, (CuratedRoi(np.array([1])),), {"area": np.zeros(2)})
    with pytest.raises(CurationError, match="summary images have shape"):
        RoiSet((10, 10), (), {}, sample_images())
    with pytest.raises(CurationError, match="frame shape"):
        RoiSet((0, 5))
    with pytest.raises(CurationError, match="not a CuratedRoi"):
        RoiSet(SHAPE, (np.array([1]),))
    masks = sample_masks()
    masks[2] = False
    with pytest.raises(CurationError, match="mask 2 is empty"):
        RoiSet.from_masks(masks)
    with pytest.raises(CurationError, match=r"\(n, height, width\)"):
        RoiSet.from_masks(masks[0])
    with pytest.raises(CurationError, match="3 labels for 6 ROIs"):
        RoiSet.from_masks(sample_masks(), labels=["cell"] * 3)
    with pytest.raises(CurationError, match="unknown label"):
        RoiSet.from_masks(sample_masks(), labels=["yes"] * 6)
    with pytest.raises(CurationError, match="outside the 48x64 frame"):
        RoiSet.from_pixels(SHAPE, [np.array([0, 48 * 64 + 3])])


def test_ids_and_metric_names_are_checked():
    roiset = sample_set()
    assert roiset.check_id(np.int64(5)) == 5
    for bad in (6, -1):
        with pytest.raises(CurationError, match=rf"ROI id {bad} is out of range: this set has "
                                                r"6 ROIs \(ids 0-5\)"):
            roiset.check_id(bad)
    for bad in (1.0, True, "1", None):
        with pytest.raises(CurationError, match="a ROI id is an integer"):
            roiset.check_id(bad)
    with pytest.raises(CurationError, match="ROI id 9 is out of range"):
        roiset.mask(9)
    with pytest.raises(CurationError, match="unknown metric 'snr': this set has activity, "
                                            "area, brightness"):
        roiset.metric("snr")


def test_an_empty_set_works():
    empty = RoiSet.from_pixels(SHAPE, [])
    assert len(empty) == 0 and empty.labels == ()
    assert empty.masks().shape == (0, *SHAPE)
    assert not empty.label_image().any()
    assert empty.roi_at(3, 3) is None
    assert "n=0" in repr(empty)
