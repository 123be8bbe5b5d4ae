"""suite2p stat.npy / iscell.npy: files written with numpy as suite2p writes them."""

from __future__ import annotations

import numpy as np
import pytest
from curation_helpers import SHAPE, disk_mask, sample_images, sample_masks, sample_set

from napari_photon import curation as C
from napari_photon.curation import CurationError, read_suite2p, write_suite2p


def _suite2p_folder(folder, masks, iscell=None, ops=None):
    """A suite2p plane folder: stat as a list of dicts, saved by np.save like suite2p."""
    folder.mkdir(parents=True, exist_ok=True)
    stat = []
    for mask in masks:
        ypix, xpix = np.nonzero(mask)
        lam = np.exp(-((ypix - ypix.mean()) ** 2 + (xpix - xpix.mean()) ** 2) / 20.0)
        stat.append({"ypix": ypix, "xpix": xpix, "lam": lam.astype(np.float32),
                     "npix": len(ypix), "med": [int(np.median(ypix)), int(np.median(xpix))],
                     "overlap": np.zeros(len(ypix), bool), "radius": 4.0, "compact": 1.1})
    np.save(folder / "stat.npy", stat)
    if iscell is not None:
        np.save(folder / "iscell.npy", iscell)
    if ops is not None:
        np.save(folder / "ops.npy", ops)
    return folder


def test_read_suite2p_gives_the_masks_labels_and_probabilities(tmp_path):
    masks = sample_masks()
    iscell = np.array([[1, 0.9], [0, 0.2], [1, 0.7], [1, 0.6], [0, 0.1], [1, 0.95]])
    folder = _suite2p_folder(tmp_path / "plane0", masks, iscell, {"Ly": 48, "Lx": 64})
    roiset = read_suite2p(folder, SHAPE, images=sample_images())
    assert np.array_equal(roiset.masks(), masks)
    assert roiset.labels == ("cell", "not cell", "cell", "cell", "not cell", "cell")
    assert roiset.origins == ("imported",) * 6 and roiset.sources == ((),) * 6
    np.testing.assert_allclose(roiset.metric("probability"), iscell[:, 1])
    assert np.array_equal(roiset.metric("area"), masks.sum(axis=(1, 2)))
    assert not np.isnan(roiset.metric("correlation")).any()
    # the stat.npy path works as well as the folder
    assert read_suite2p(folder / "stat.npy", SHAPE).rois == roiset.rois


def test_read_suite2p_without_iscell_or_ops_labels_all_cells(tmp_path):
    folder = _suite2p_folder(tmp_path, sample_masks())
    roiset = read_suite2p(folder, SHAPE)
    assert roiset.labels == ("cell",) * 6 and "probability" not in roiset.metrics


def test_an_import_for_other_frames_is_refused_naming_both_shapes(tmp_path):
    masks = sample_masks()
    folder = _suite2p_folder(tmp_path / "ops", masks, ops={"Ly": 512, "Lx": 512})
    with pytest.raises(CurationError, match="for 512x512 frames, but the recording's frames "
                                            "are 48x64"):
        read_suite2p(folder, SHAPE)
    big = np.zeros((1, 100, 120), bool)
    big[0, 90:95, 110:115] = True
    folder = _suite2p_folder(tmp_path / "big", big)
    with pytest.raises(CurationError, match=r"ROI 0 reaches pixel \(y=94, x=114\), outside the "
                                            r"recording's 48x64 frames.*at least 95x115"):
        read_suite2p(folder, SHAPE)


def test_bad_suite2p_files_are_refused(tmp_path):
    folder = _suite2p_folder(tmp_path, sample_masks(), iscell=np.ones((3, 2)))
    with pytest.raises(CurationError, match=r"iscell.npy has shape \(3, 2\); expected \(6, 2\)"):
        read_suite2p(folder, SHAPE)
    (tmp_path / "iscell.npy").unlink()
    np.save(tmp_path / "stat.npy", [{"ypix": np.array([], int), "xpix": np.array([], int)}])
    with pytest.raises(CurationError, match="ROI 0 has 0 ypix"):
        read_suite2p(tmp_path, SHAPE)
    np.save(tmp_path / "stat.npy", [{"y": np.array([1])}])
    with pytest.raises(CurationError, match="entry 0 is not a suite2p ROI"):
        read_suite2p(tmp_path, SHAPE)


def test_write_suite2p_reads_back_and_marks_overlaps(tmp_path):
    roiset = C.set_label(sample_set(), [1], "not cell")
    roiset = C.set_label(roiset, [4], "unsure")
    roiset = C.draw(roiset, disk_mask((40, 56), 3))
    stat_path, iscell_path = write_suite2p(roiset, tmp_path / "out")
    stat = np.load(stat_path, allow_pickle=True)
    iscell = np.load(iscell_path)
    assert len(stat) == 7 and iscell.shape == (7, 2)
    assert iscell[:, 0].tolist() == [1, 0, 1, 1, 0, 1, 1]
    assert iscell[:, 1].tolist() == [1, 0, 1, 1, 0.5, 1, 1]
    masks = roiset.masks()
    for i, entry in enumerate(stat):
        assert np.array_equal(masks[i][entry["ypix"], entry["xpix"]], np.ones(entry["npix"], bool))
        assert entry["npix"] == masks[i].sum()
        assert entry["lam"].sum() == pytest.approx(1.0)
        others = np.delete(masks, i, axis=0).any(axis=0)
        assert np.array_equal(entry["overlap"], others[entry["ypix"], entry["xpix"]])
    assert stat[2]["overlap"].any() and not stat[5]["overlap"].any()  # 2 overlaps 3
    back = read_suite2p(tmp_path / "out", SHAPE)
    assert np.array_equal(back.masks(), masks)
    assert back.labels == ("cell", "not cell", "cell", "cell", "not cell", "cell", "cell")
