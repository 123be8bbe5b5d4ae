"""suite2p results imported as MotionCorrected, ROI and Curation rows."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from conftest import tiff_session, zarr_folders

from napari_photon.pipeline._import_suite2p import Suite2pImportError, import_suite2p


def _suite2p_folder(folder, levels, squares, iscell, *, ly=None):
    """A suite2p 1.x plane folder: data.bin (x // 2 as int16, as suite2p stores uint16
    TIFFs), db.npy, reg_outputs.npy, stat.npy and iscell.npy."""
    folder.mkdir(parents=True)
    t, height, width = levels.shape
    (levels // 2).astype(np.int16).tofile(folder / "data.bin")
    np.save(folder / "db.npy", {"Ly": ly or height, "Lx": width, "nframes": t})
    offsets = np.arange(t) % 3 - 1.0
    np.save(folder / "reg_outputs.npy", {"yoff": offsets, "xoff": -offsets})
    stat = []
    for y0, x0 in squares:
        ys, xs = np.mgrid[y0:y0 + 5, x0:x0 + 5]
        stat.append({"ypix": ys.ravel(), "xpix": xs.ravel(), "lam": np.full(25, 1 / 25)})
    np.save(folder / "stat.npy", np.array(stat, dtype=object), allow_pickle=True)
    np.save(folder / "iscell.npy", np.asarray(iscell, np.float64))
    return offsets


def test_a_suite2p_folder_becomes_motion_rois_and_a_curation(pipeline, tmp_path):
    key = tiff_session(pipeline, "suite2p")
    pipeline.populate(key, tables=("Recording",))
    recording = (pipeline.Recording & key).fetch1()
    levels = tifffile.imread(recording["source_file"])
    squares = [(5, 5), (20, 20), (30, 8)]
    offsets = _suite2p_folder(tmp_path / "plane0", levels, squares,
                              [[1, 0.9], [0, 0.2], [1, 0.8]])
    made = import_suite2p(pipeline, tmp_path / "plane0", key)

    motion = (pipeline.MotionCorrected & made["motion"]).fetch1()
    params = (pipeline.MotionParams & made["motion"]).fetch1()
    assert params["method"] == "imported" and params["params"]["imported_from"] == "suite2p"
    np.testing.assert_array_equal(motion["shift_y"], -offsets)
    np.testing.assert_array_equal(motion["shift_x"], offsets)
    raw = recording["raw_movie"].photons("algebraic")[:]
    imported = motion["corrected_movie"].photons("algebraic")[:]
    assert abs(imported.mean() / raw.mean() - 1) < 0.03  # halved levels, same photons

    roi = (pipeline.ROI & made["roi"]).fetch1()
    assert roi["n_rois"] == 3 and roi["roi_masks"][1, 20:25, 20:25].all()
    assert roi["roi_metrics"]["area"].tolist() == [25, 25, 25]
    assert np.isfinite(roi["roi_metrics"]["correlation"]).all()  # image metrics too
    assert roi["correlation_image"].shape == levels.shape[1:]
    labels = [r["label"] for r in
              (pipeline.Curation.Mask & made["curation"]).to_dicts(order_by="roi_id")]
    assert labels == ["cell", "not cell", "cell"]

    pipeline.populate(made["roi"], tables=("Trace",))
    assert len(pipeline.Trace & made["roi"]) == 3
    # populate never computes an imported parameter set for another recording
    other = tiff_session(pipeline, "suite2p other")
    pipeline.populate(other, tables=("Recording", "MotionCorrected"))
    assert [r["motion_params_id"] for r in (pipeline.MotionCorrected & other).to_dicts()] == [1]


def test_a_folder_for_other_frames_is_refused_and_inserts_nothing(pipeline, tmp_path,
                                                                 store_root):
    key = tiff_session(pipeline, "suite2p bad")
    pipeline.populate(key, tables=("Recording",))
    levels = tifffile.imread((pipeline.Recording & key).fetch1("source_file"))
    _suite2p_folder(tmp_path / "plane0", levels, [(5, 5)], [[1, 0.9]], ly=64)
    before = (len(pipeline.MotionParams()), len(pipeline.RoiParams()), zarr_folders(store_root))
    with pytest.raises(Suite2pImportError, match="is for 64x48 frames; the recording's are 48x48"):
        import_suite2p(pipeline, tmp_path / "plane0", key)
    with pytest.raises(Suite2pImportError, match="expected a suite2p plane folder"):
        import_suite2p(pipeline, tmp_path, key)
    with pytest.raises(Suite2pImportError, match="selects 0 recordings"):
        import_suite2p(pipeline, tmp_path / "plane0", {**key, "mouse_id": 9999})
    after = (len(pipeline.MotionParams()), len(pipeline.RoiParams()), zarr_folders(store_root))
    assert after == before


def test_the_command_imports_and_refuses_ambiguous_keys(pipeline, tmp_path, capsys):
    from napari_photon.cli import main

    key = tiff_session(pipeline, "suite2p cli")
    pipeline.populate(key, tables=("Recording",))
    levels = tifffile.imread((pipeline.Recording & key).fetch1("source_file"))
    _suite2p_folder(tmp_path / "plane0", levels, [(5, 5)], [[1, 0.9]])
    schema = ["--schema", pipeline.database]
    assert main(["import", "suite2p", *schema, str(tmp_path / "plane0"),
                 "recording_num=1"]) == 2  # every session's first recording
    assert "select exactly one" in capsys.readouterr().err
    mouse = f"mouse_id={key['mouse_id']}"
    assert main(["import", "suite2p", *schema, str(tmp_path / "plane0"), mouse]) == 0
    out = capsys.readouterr().out
    assert out.startswith("motion") and "roi_params_id=" in out and "curation_id=" in out
