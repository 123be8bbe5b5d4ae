"""Curation actions: results, where ROIs go, shared untouched ROIs, and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
from curation_helpers import SHAPE, blobs, disk_mask, sample_masks, sample_set

from napari_photon import curation as C
from napari_photon.curation import CurationError


@pytest.fixture
def roiset():
    return sample_set()


def _unchanged(before: C.RoiSet, reference: C.RoiSet) -> None:
    """The input set is exactly as it was (actions never change their input)."""
    assert before == reference


def test_set_label_changes_only_the_labels_and_shares_everything_else(roiset):
    new = C.set_label(roiset, [1, 4], "not cell")
    assert new.labels == ("cell", "not cell", "cell", "cell", "not cell", "cell")
    assert all(new.rois[i] is roiset.rois[i] for i in (0, 2, 3, 5))
    assert new.rois[1].pixels is roiset.rois[1].pixels  # no pixel copy
    assert new.metrics is not roiset.metrics and dict(new.metrics).keys() == roiset.metrics.keys()
    assert C.set_label(new, 1, "not cell") is new  # nothing to change: the same set
    assert C.set_label(roiset, np.int64(2), "unsure").labels[2] == "unsure"
    _unchanged(roiset, sample_set())


def test_merge_takes_the_lowest_id_and_keeps_every_other_identity(roiset):
    masks = sample_masks()
    new = C.merge(roiset, [3, 0])
    assert len(new) == 5
    merged = new.rois[0]
    assert merged.origin == "merged" and merged.sources == (0, 3)
    assert np.array_equal(new.mask(0), masks[0] | masks[3])
    # untouched ROIs: the same objects, and their sources still name their own masks
    assert [new.rois[i] for i in (1, 2, 3, 4)] == [roiset.rois[i] for i in (1, 2, 4, 5)]
    assert all(new.rois[i] is roiset.rois[j] for i, j in [(1, 1), (2, 2), (3, 4), (4, 5)])
    for roi_id in range(1, 5):
        (source,) = new.rois[roi_id].sources
        assert np.array_equal(new.mask(roi_id), masks[source])
    assert new.metrics["area"][0] == (masks[0] | masks[3]).sum()
    # merging a merged ROI again: sources stay ids of the detected set
    again = C.merge(new, [0, 4])
    assert again.rois[0].sources == (0, 3, 5)
    _unchanged(roiset, sample_set())


def test_merge_label_is_the_most_positive_of_its_parts(roiset):
    labelled = C.set_label(C.set_label(roiset, [0], "not cell"), [1], "unsure")
    assert C.merge(labelled, [0, 1]).labels[0] == "unsure"
    assert C.merge(labelled, [0, 1, 2]).labels[0] == "cell"
    assert C.merge(C.set_label(labelled, [1], "not cell"), [0, 1]).labels[0] == "not cell"


def test_split_by_line_keeps_the_larger_part_in_place_and_appends_the_other(roiset):
    masks = sample_masks()
    new = C.split_by_line(roiset, 5, (0, 42), (47, 42))  # vertical line left of centre 44
    assert len(new) == 7
    a, b = new.rois[5], new.rois[6]
    assert a.origin == b.origin == "split" and a.sources == b.sources == (5,)
    assert a.area > b.area and a.area + b.area == masks[5].sum()
    assert np.array_equal(new.mask(5) | new.mask(6), masks[5])
    assert np.argwhere(new.mask(6))[:, 1].max() <= 42 < np.argwhere(new.mask(5))[:, 1].min() + 1
    assert all(new.rois[i] is roiset.rois[i] for i in range(5))
    assert new.metrics["area"][5] == a.area and new.metrics["area"][6] == b.area
    assert new.labels[5] == new.labels[6] == "cell"
    # a diagonal line through the centre
    diagonal = C.split_by_line(roiset, 5, (30, 44), (31.5, 45.5))
    assert diagonal.rois[5].area + diagonal.rois[6].area == masks[5].sum()
    _unchanged(roiset, sample_set())


def test_split_by_correlation_uses_the_sets_correlation_image_by_default():
    left, right = disk_mask((20, 20), 6), disk_mask((20, 31), 6)
    image = blobs([(20, 20), (20, 31)], sigma=3.0)
    from napari_photon.rois import SummaryImages

    images = SummaryImages(mean=image, max=image, std=image, correlation=image)
    roiset = C.RoiSet.from_masks(np.array([left | right, disk_mask((40, 50), 4)]),
                                 images=images)
    new = C.split_by_correlation(roiset, 0)
    assert len(new) == 3 and new.rois[1] is roiset.rois[1]
    parts = [new.mask(0), new.mask(2)]
    assert sorted(p[20, 20] for p in parts) == [False, True]
    assert sorted(p[20, 31] for p in parts) == [False, True]
    explicit = C.split_by_correlation(roiset.with_images(None), 0, image=image)
    assert explicit.rois == new.rois
    # without images the new ROIs get shape metrics only
    assert explicit.metrics["area"][2] == new.metrics["area"][2]
    assert np.isnan(explicit.metrics["correlation"][2])


def test_draw_appends_a_new_roi_from_a_mask_or_pixels(roiset):
    mask = disk_mask((40, 56), 3)
    new = C.draw(roiset, mask)
    assert len(new) == 7 and new.rois[6].origin == "drawn" and new.rois[6].sources == ()
    assert np.array_equal(new.mask(6), mask) and new.labels[6] == "cell"
    assert new.metrics["area"][6] == mask.sum()
    assert not np.isnan(new.metrics["correlation"][6])
    by_pixels = C.draw(roiset, np.argwhere(mask), label="unsure")
    assert np.array_equal(by_pixels.mask(6), mask) and by_pixels.labels[6] == "unsure"
    assert all(new.rois[i] is roiset.rois[i] for i in range(6))


def test_erase_removes_pixels_in_place(roiset):
    masks = sample_masks()
    eraser = np.zeros(SHAPE, bool)
    eraser[:, 44:] = True
    new = C.erase(roiset, 5, eraser)
    assert np.array_equal(new.mask(5), masks[5] & ~eraser)
    assert new.rois[5].origin == "detected" and new.rois[5].sources == (5,)
    assert new.metrics["area"][5] == (masks[5] & ~eraser).sum()
    assert all(new.rois[i] is roiset.rois[i] for i in range(5))
    by_pixels = C.erase(roiset, 5, np.argwhere(eraser & masks[5]))
    assert by_pixels == new


def test_delete_removes_rois_and_moves_the_ids_above_down(roiset):
    new = C.delete(roiset, [1, 3])
    assert len(new) == 4
    assert [r.sources for r in new] == [(0,), (2,), (4,), (5,)]
    assert all(new.rois[i] is roiset.rois[j] for i, j in [(0, 0), (1, 2), (2, 4), (3, 5)])
    assert new.metrics["area"].tolist() == [roiset.metrics["area"][j] for j in (0, 2, 4, 5)]
    assert len(C.delete(roiset, 0)) == 5


def test_relabel_where_and_its_preview_count(roiset):
    areas = roiset.metrics["area"]
    small = int((areas < 60).sum())
    assert 0 < small < len(roiset)
    assert C.count_relabel(roiset, "area", "<", 60, "not cell") == small
    new = C.relabel_where(roiset, "area", "<", 60, "not cell")
    assert [label == "not cell" for label in new.labels] == (areas < 60).tolist()
    assert C.count_relabel(new, "area", "<", 60, "not cell") == 0
    assert C.relabel_where(new, "area", "<", 60, "not cell") is new
    for op, expected in [("<=", areas <= 60), (">", areas > 60), (">=", areas >= 60),
                         ("==", areas == areas[0]), ("!=", areas != areas[0])]:
        value = areas[0] if op in ("==", "!=") else 60
        assert C.count_relabel(roiset, "area", op, value, "unsure") == expected.sum()


def test_relabel_where_leaves_rois_with_a_nan_metric_alone(roiset):
    drawn = C.draw(roiset.with_images(None), disk_mask((40, 56), 3))
    metrics = dict(drawn.metrics)
    metrics["snr"] = np.array([5.0, 1.0, np.nan, 2.0, 8.0, 0.5, np.nan])
    with_snr = C.RoiSet(drawn.shape, drawn.rois, metrics)
    assert C.count_relabel(with_snr, "snr", "<", 3, "not cell") == 3
    assert C.count_relabel(with_snr, "snr", "!=", 3, "not cell") == 5


def test_actions_table_names_every_action():
    assert set(C.ACTIONS) == {"set_label", "merge", "split_by_correlation", "split_by_line",
                              "draw", "erase", "delete", "relabel_where"}


@pytest.mark.parametrize("call, message", [
    (lambda s: C.merge(s, []), "merge needs at least 2 different ROIs selected; got none"),
    (lambda s: C.merge(s, [2]), "merge needs at least 2 .* got only ROI 2"),
    (lambda s: C.merge(s, [2, 2]), "got only ROI 2"),
    (lambda s: C.merge(s, [1, 6]), r"ROI id 6 is out of range: this set has 6 ROIs \(ids 0-5\)"),
    (lambda s: C.merge(s, "01"), "list of ROI ids"),
    (lambda s: C.set_label(s, [], "cell"), "set_label needs one ROI selected; got none"),
    (lambda s: C.set_label(s, [0], "neuron"), "unknown label 'neuron'"),
    (lambda s: C.set_label(s, [-1], "cell"), "ROI id -1 is out of range"),
    (lambda s: C.delete(s, []), "delete needs one ROI selected"),
    (lambda s: C.delete(s, [9]), "ROI id 9 is out of range"),
    (lambda s: C.split_by_line(s, 5, (0, 0), (0, 63)), "would leave an empty part"),
    (lambda s: C.split_by_line(s, 5, (3, 3), (3, 3)), "two points are the same"),
    (lambda s: C.split_by_line(s, 5, (3,), (3, 3)), "two \\(y, x\\) points"),
    (lambda s: C.split_by_line(s, 7, (0, 42), (47, 42)), "ROI id 7 is out of range"),
    (lambda s: C.split_by_correlation(s.with_images(None), 0), "needs an image"),
    (lambda s: C.split_by_correlation(s, 0, np.ones((5, 5))), r"shape \(5, 5\)"),
    (lambda s: C.split_by_correlation(s, 0, np.ones(SHAPE)), "uniform inside the ROI"),
    (lambda s: C.draw(s, np.zeros((10, 10), bool)), r"draw mask has shape \(10, 10\), but the "
                                                    "frame is 48x64"),
    (lambda s: C.draw(s, np.array([[3, 3], [50, 3]])), r"draw pixel \(y=50, x=3\) lies outside "
                                                       "the 48x64 frame"),
    (lambda s: C.draw(s, np.array([[3, -1]])), "outside the 48x64 frame"),
    (lambda s: C.draw(s, np.zeros(SHAPE, bool)), "draw mask is empty"),
    (lambda s: C.draw(s, np.zeros(SHAPE)), "draw mask is float64"),
    (lambda s: C.draw(s, disk_mask((5, 5), 2), label="maybe"), "unknown label"),
    (lambda s: C.erase(s, 0, np.ones((3, 3), bool)), r"erase mask has shape \(3, 3\)"),
    (lambda s: C.erase(s, 0, np.array([[100, 100]])), "erase pixel .* outside"),
    (lambda s: C.erase(s, 0, disk_mask((40, 56), 2)), "does not touch ROI 0"),
    (lambda s: C.erase(s, 0, np.ones(SHAPE, bool)), "remove every pixel of ROI 0; use delete"),
    (lambda s: C.erase(s, 6, np.ones(SHAPE, bool)), "ROI id 6 is out of range"),
    (lambda s: C.relabel_where(s, "snr", "<", 1, "cell"), "unknown metric 'snr'"),
    (lambda s: C.relabel_where(s, "area", "<<", 1, "cell"), "unknown comparison '<<'"),
    (lambda s: C.relabel_where(s, "area", "<", "big", "cell"), "with a number"),
    (lambda s: C.relabel_where(s, "area", "<", 1, "good"), "unknown label 'good'"),
    (lambda s: C.count_relabel(s, "nope", "<", 1, "cell"), "unknown metric 'nope'"),
])
def test_bad_input_raises_a_clear_error_and_changes_nothing(roiset, call, message):
    with pytest.raises(CurationError, match=message):
        call(roiset)
    assert roiset == sample_set()
