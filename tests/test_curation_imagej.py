"""ImageJ RoiSet zip: files made with roifile's writer, and our export read back."""

from __future__ import annotations

import numpy as np
import pytest
import roifile
from curation_helpers import SHAPE, disk_mask
from roifile import ROI_TYPE, ImagejRoi

from napari_photon import curation as C
from napari_photon.curation import CurationError, read_imagej, write_imagej


def _rect(left, top, right, bottom, group=0) -> ImagejRoi:
    roi = ImagejRoi(roitype=ROI_TYPE.RECT, left=left, top=top, right=right, bottom=bottom)
    roi.name, roi.group = f"rect-{left}-{top}", group
    return roi


def test_polygon_rectangle_and_oval_rois_become_masks(tmp_path):
    square = ImagejRoi.frompoints(np.array([[10, 5], [20, 5], [20, 15], [10, 15]]), name="sq")
    square.roitype, square.group = ROI_TYPE.POLYGON, 2
    oval = ImagejRoi(roitype=ROI_TYPE.OVAL, left=44, top=30, right=56, bottom=42)
    oval.name, oval.group = "oval", 3
    roifile.roiwrite(tmp_path / "RoiSet.zip", [square, _rect(30, 20, 40, 26), oval])
    roiset = read_imagej(tmp_path / "RoiSet.zip", SHAPE)
    assert len(roiset) == 3 and roiset.origins == ("imported",) * 3
    expected = np.zeros((2, *SHAPE), bool)
    expected[0, 5:15, 10:20] = True  # corners 10..20 hold pixel centres 10.5 .. 19.5
    expected[1, 20:26, 30:40] = True
    assert np.array_equal(roiset.masks()[:2], expected)
    ellipse = disk_mask((35.5, 49.5), 6)
    found = roiset.mask(2)
    assert (found & ellipse).sum() / (found | ellipse).sum() > 0.9
    assert roiset.labels == ("not cell", "cell", "unsure")
    assert roiset.metric("area")[1] == 60


def test_a_single_roi_file_reads_too(tmp_path):
    _rect(1, 2, 4, 6).tofile(tmp_path / "one.roi")
    roiset = read_imagej(tmp_path / "one.roi", SHAPE)
    assert roiset.metric("area").tolist() == [12]


def test_imagej_rois_for_other_frames_or_without_area_are_refused(tmp_path):
    roifile.roiwrite(tmp_path / "big.zip", [_rect(500, 400, 510, 410)])
    with pytest.raises(CurationError, match="reaches x=510, y=410, outside the recording's "
                                            "48x64 frames.*at least 410x510"):
        read_imagej(tmp_path / "big.zip", SHAPE)
    line = ImagejRoi(roitype=ROI_TYPE.LINE, x1=1, y1=1, x2=10, y2=10, name="a line")
    roifile.roiwrite(tmp_path / "line.zip", [line])
    with pytest.raises(CurationError, match="'a line' .* is a line ROI; only area ROIs"):
        read_imagej(tmp_path / "line.zip", SHAPE)
    roifile.roiwrite(tmp_path / "tiny.zip", [ImagejRoi.frompoints(
        np.array([[3.1, 3.1], [3.3, 3.1], [3.2, 3.3]], np.float32), name="tiny")])
    with pytest.raises(CurationError, match="covers no pixel centre"):
        read_imagej(tmp_path / "tiny.zip", SHAPE)
    (tmp_path / "junk.roi").write_bytes(b"0" * 80)
    with pytest.raises(CurationError, match="not an ImageJ ROI file"):
        read_imagej(tmp_path / "junk.roi", SHAPE)


def _awkward_masks() -> list[np.ndarray]:
    ring = disk_mask((20, 20), 6) & ~disk_mask((20, 20), 2)
    two_pieces = disk_mask((8, 40), 3) | disk_mask((8, 52), 2)
    diagonal = np.zeros(SHAPE, bool)
    diagonal[[30, 31, 32, 33], [40, 41, 42, 43]] = True  # pixels touching at corners
    ell = np.zeros(SHAPE, bool)
    ell[30:40, 50:53] = True
    ell[37:40, 50:60] = True
    single = np.zeros(SHAPE, bool)
    single[44, 5] = True
    line = np.zeros(SHAPE, bool)
    line[40, 10:30] = True
    corner = np.zeros(SHAPE, bool)
    corner[0:4, 60:64] = True  # touches two frame borders
    return [disk_mask((10, 10), 5), ring, two_pieces, diagonal, ell, single, line, corner]


def test_exported_outlines_read_back_to_the_same_masks_and_labels(tmp_path):
    masks = _awkward_masks()
    roiset = C.RoiSet.from_pixels(SHAPE, [np.flatnonzero(m) for m in masks],
                                  labels=["cell", "not cell", "unsure", "cell", "cell",
                                          "not cell", "unsure", "cell"])
    path = write_imagej(roiset, tmp_path / "out" / "RoiSet.zip")
    written = roifile.roiread(path)
    assert [r.name for r in written] == [f"roi-{i}" for i in range(8)]
    assert [r.group for r in written] == [1, 2, 3, 1, 1, 2, 3, 1]
    # a hole, two pieces, pixels touching only at corners: several loops, a composite ROI
    assert [r.composite for r in written] == [False, True, True, True, False, False, False,
                                              False]
    back = read_imagej(path, SHAPE)
    for i, mask in enumerate(masks):
        assert np.array_equal(back.mask(i), mask), f"ROI {i}"
    assert back.labels == roiset.labels
    write_imagej(C.delete(roiset, [0]), path)  # replaces the file
    assert len(read_imagej(path, SHAPE)) == 7
