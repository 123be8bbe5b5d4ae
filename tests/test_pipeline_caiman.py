"""CaImAn results imported as MotionCorrected, ROI and Curation rows."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile
from conftest import tiff_session, zarr_folders
from scipy import sparse

from napari_photon.pipeline._import_caiman import (
    CaimanImportError,
    caiman_memmap,
    import_caiman,
)


def _write_memmap(folder, frames, order):
    """As CaImAn's save_memmap: float32 (pixels in Fortran order, frames) in ``order``."""
    t, rows, columns = frames.shape
    pixels = np.stack([f.ravel(order="F") for f in frames], axis=1).astype(np.float32)
    path = folder / f"Yr_d1_{rows}_d2_{columns}_d3_1_order_{order}_frames_{t}_.mmap"
    (pixels if order == "C" else pixels.T).tofile(path)  # tofile writes C order
    return path


def _write_cnmf(path, shape, squares, idx_components, mmap_file):
    """As CaImAn's cnm.save (save_dict_to_hdf5): footprints A (pixels x n, Fortran pixel
    order) as a CSC group, traces, the evaluation, params/data and mmap_file."""
    columns = []
    for y0, x0 in squares:
        footprint = np.zeros(shape)
        footprint[y0:y0 + 5, x0:x0 + 5] = 1.0
        columns.append(footprint.ravel(order="F"))
    a = sparse.csc_matrix(np.stack(columns, axis=1))
    with h5py.File(path, "w") as file:
        file["dims"] = np.array(shape)
        file["mmap_file"] = str(mmap_file)
        for name in ("data", "indices", "indptr", "shape"):
            file[f"estimates/A/{name}"] = getattr(a, name)
        file["estimates/C"] = np.zeros((len(squares), 10))
        file["estimates/YrA"] = np.zeros((len(squares), 10))
        file["estimates/idx_components"] = (
            "NoneType" if idx_components is None else np.asarray(idx_components))
        file["params/data/fr"] = 30.0
        file["params/data/dims"] = np.array(shape)
    return path


def _levels(pipeline, key):
    return tifffile.imread((pipeline.Recording & key).fetch1("source_file")).astype(np.float32)


def test_roiextractors_reads_the_test_files_as_caiman_results(tmp_path):
    """The files the tests write are in CaImAn's layout: the field's reader takes them."""
    from roiextractors import CaimanSegmentationExtractor

    path = _write_cnmf(tmp_path / "cnm.hdf5", (48, 40), [(5, 5), (20, 30)], [1], "x.mmap")
    extractor = CaimanSegmentationExtractor(path)
    masks = extractor.get_roi_image_masks()
    assert masks.shape == (48, 40, 2) and masks[20:25, 30:35, 1].all()
    accepted = extractor.get_property("is_accepted", extractor.get_roi_ids())
    assert accepted.tolist() == [False, True]


@pytest.mark.parametrize("order", ["C", "F"])
def test_the_memmap_reads_as_frames_in_either_order(tmp_path, order):
    frames = np.random.default_rng(0).random((6, 5, 7)).astype(np.float32)
    movie = caiman_memmap(_write_memmap(tmp_path, frames, order))
    np.testing.assert_array_equal(movie, frames)
    np.testing.assert_array_equal(movie[2:4], frames[2:4])


def test_caiman_results_become_motion_rois_and_a_curation(pipeline, tmp_path):
    key = tiff_session(pipeline, "caiman")
    pipeline.populate(key, tables=("Recording",))
    recording = (pipeline.Recording & key).fetch1()
    levels = _levels(pipeline, key)
    mmap = _write_memmap(tmp_path, levels, "C")
    results = _write_cnmf(tmp_path / "cnm.hdf5", levels.shape[1:],
                          [(5, 5), (20, 20), (30, 8)], [0, 2], mmap)
    shifts = np.c_[np.arange(len(levels)) % 3 - 1.0, np.zeros(len(levels))]
    np.save(tmp_path / "shifts_rig.npy", shifts)
    made = import_caiman(pipeline, results, key, shifts=tmp_path / "shifts_rig.npy")

    params = (pipeline.MotionParams & made["motion"]).fetch1()
    assert params["method"] == "imported" and params["params"]["imported_from"] == "caiman"
    motion = (pipeline.MotionCorrected & made["motion"]).fetch1()
    np.testing.assert_array_equal(motion["shift_y"], shifts[:, 0])
    np.testing.assert_array_equal(motion["shift_x"], shifts[:, 1])
    raw = recording["raw_movie"].photons("algebraic")[:]
    imported = motion["corrected_movie"].photons("algebraic")[:]
    assert abs(imported.mean() / raw.mean() - 1) < 0.01  # the same levels, same photons
    assert np.corrcoef(imported.ravel(), raw.ravel())[0, 1] > 0.99  # frames in place

    roi = (pipeline.ROI & made["roi"]).fetch1()
    assert roi["n_rois"] == 3 and roi["roi_masks"][1, 20:25, 20:25].all()
    assert roi["roi_masks"].sum(axis=(1, 2)).tolist() == [25, 25, 25]
    assert roi["mean_image"].shape == levels.shape[1:]  # the stored movie's summary images
    assert np.isfinite(roi["roi_metrics"]["contrast"]).all()
    labels = [r["label"] for r in
              (pipeline.Curation.Mask & made["curation"]).to_dicts(order_by="roi_id")]
    assert labels == ["cell", "not cell", "cell"]
    pipeline.populate(made["roi"], tables=("Trace",))
    assert len(pipeline.Trace & made["roi"]) == 3


def test_without_shifts_or_evaluation_the_shifts_are_nan_and_no_curation(pipeline, tmp_path):
    key = tiff_session(pipeline, "caiman plain")
    pipeline.populate(key, tables=("Recording",))
    levels = _levels(pipeline, key)
    elsewhere = tmp_path / "moved"  # the recorded mmap_file is gone: found beside the file
    mmap = _write_memmap(tmp_path, levels, "F")
    results = _write_cnmf(tmp_path / "cnm.hdf5", levels.shape[1:], [(5, 5)], None,
                          elsewhere / mmap.name)
    made = import_caiman(pipeline, results, key)
    assert made["curation"] is None
    assert np.isnan((pipeline.MotionCorrected & made["motion"]).fetch1("shift_y")).all()


def test_bad_caiman_results_are_refused_and_insert_nothing(pipeline, tmp_path, store_root):
    key = tiff_session(pipeline, "caiman bad")
    pipeline.populate(key, tables=("Recording",))
    levels = _levels(pipeline, key)
    height, width = levels.shape[1:]
    mmap = _write_memmap(tmp_path, levels, "C")
    short = _write_memmap(tmp_path, levels[:-1], "C")
    good = _write_cnmf(tmp_path / "cnm.hdf5", (height, width), [(5, 5)], [0], mmap)
    other = _write_cnmf(tmp_path / "other.hdf5", (height + 16, width), [(5, 5)], [0], mmap)
    before = (len(pipeline.MotionParams()), len(pipeline.RoiParams()), zarr_folders(store_root))

    with pytest.raises(CaimanImportError, match=f"the recording has {len(levels)} of"):
        import_caiman(pipeline, good, key, movie=short)
    with pytest.raises(CaimanImportError, match=f"is for {height + 16}x{width} frames"):
        import_caiman(pipeline, other, key)
    with pytest.raises(CaimanImportError, match="not a CaImAn memmap name"):
        import_caiman(pipeline, good, key, movie=tmp_path / "movie.bin")
    broken = tmp_path / f"broken_d1_{height}_d2_{width}_d3_1_order_C_frames_{len(levels)}_.mmap"
    broken.write_bytes(b"\0" * 100)
    with pytest.raises(CaimanImportError, match="holds 100 bytes; its name says"):
        import_caiman(pipeline, good, key, movie=broken)
    np.save(tmp_path / "shifts.npy", np.zeros((3, 2)))
    with pytest.raises(CaimanImportError, match=r"expected \(\d+, 2\) finite"):
        import_caiman(pipeline, good, key, shifts=tmp_path / "shifts.npy")
    unnamed = _write_cnmf(tmp_path / "unnamed.hdf5", (height, width), [(5, 5)], [0], mmap)
    with h5py.File(unnamed, "a") as file:
        del file["mmap_file"]
    with pytest.raises(CaimanImportError, match="names no mmap_file; give .* with --movie"):
        import_caiman(pipeline, unnamed, key)
    (tmp_path / "text.hdf5").write_text("not hdf5")
    with pytest.raises(CaimanImportError, match="not an HDF5 file written by CaImAn"):
        import_caiman(pipeline, tmp_path / "text.hdf5", key)
    with pytest.raises(CaimanImportError, match="selects 0 recordings"):
        import_caiman(pipeline, good, {**key, "mouse_id": 9999})
    after = (len(pipeline.MotionParams()), len(pipeline.RoiParams()), zarr_folders(store_root))
    assert after == before


def test_the_command_imports_caiman_results(pipeline, tmp_path, capsys):
    from napari_photon.cli import main

    key = tiff_session(pipeline, "caiman cli")
    pipeline.populate(key, tables=("Recording",))
    levels = _levels(pipeline, key)
    mmap = _write_memmap(tmp_path, levels, "C")
    results = _write_cnmf(tmp_path / "cnm.hdf5", levels.shape[1:], [(5, 5)], [0], mmap)
    schema = ["--schema", pipeline.database]
    mouse = f"mouse_id={key['mouse_id']}"
    assert main(["import", "caiman", *schema, "--movie", str(tmp_path / "x.mmap"),
                 str(results), mouse]) == 1
    assert "not a CaImAn memmap name" in capsys.readouterr().err
    assert main(["import", "caiman", *schema, str(results), mouse]) == 0
    out = capsys.readouterr().out
    assert out.startswith("motion") and "roi_params_id=" in out and "curation_id=" in out
