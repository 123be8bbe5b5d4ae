"""The calcium-imaging pipeline on the embedded PostgreSQL server, from TIFF to traces."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import new_session as new_mouse_and_session
from conftest import zarr_folders

from napari_photon import synthetic
from napari_photon.calibration import Calibration
from napari_photon.io import calibration_properties
from napari_photon.pipeline import reporting

DATE = "2026-11-25"


def new_session(pipeline) -> dict:
    key = new_mouse_and_session(pipeline, session_date=DATE)
    folder = pipeline.session_folder(key)
    folder.mkdir(parents=True)
    return key


def test_design_document_usage(pipeline):
    """Insert Mouse and Session; populate Recording, MotionCorrected, ROI, Trace; fetch traces."""
    key = new_session(pipeline)
    truth = synthetic.make_movie(n_frames=150, shape=(96, 96), n_neurons=8, max_shift=3, seed=4)
    synthetic.write_tiff(pipeline.session_folder(key) / "a.tif", truth.movie, frame_rate=15.0)

    pipeline.Recording.populate(key)
    pipeline.MotionCorrected.populate(key)
    pipeline.ROI.populate(key)
    pipeline.Trace.populate(key)

    assert len(pipeline.VolumeRecording.key_source & key) == 0  # no 4D stack here
    recording = (pipeline.Recording & key).fetch1()
    assert recording["recording_num"] == 1 and recording["frame_rate"] == pytest.approx(15.0)
    assert recording["n_frames"] == 150 and recording["calibration_source"] == "estimated"
    assert recording["calibration"]["gain"] == pytest.approx(1.0, rel=0.15)
    shifts = (pipeline.MotionCorrected & key).fetch1("shift_y", "shift_x")
    error = np.c_[shifts] + truth.shifts
    error -= error.mean(axis=0)
    assert np.sqrt((error**2).sum(axis=1).mean()) < 0.5
    n_rois = (pipeline.ROI & key).fetch1("n_rois")
    assert n_rois >= 4
    rows = (pipeline.Trace & key).to_dicts(order_by="roi_id")
    assert [r["roi_id"] for r in rows] == list(range(n_rois))  # index into roi_masks
    assert all(r["fluorescence"].shape == (150,) for r in rows)
    # traces are in photons: the mean over ROIs is near the movie's photon rate inside them
    masks = (pipeline.ROI & key).fetch1("roi_masks")
    inside = truth.movie[:, masks.any(axis=0)].mean()
    mean_trace = np.mean([r["fluorescence"].mean() for r in rows])
    assert mean_trace == pytest.approx(inside, rel=0.25)


def test_recording_numbers_follow_sorted_files_and_read_calibration(pipeline):
    key = new_session(pipeline)
    folder = pipeline.session_folder(key)
    cal = Calibration(gain=4.0, zero_level=50.0)
    for name in ("b.tif", "a.TIFF"):
        movie = synthetic.make_movie(n_frames=20, shape=(32, 32), n_neurons=2, max_shift=2, neuron_radius=(3, 4), seed=1).movie
        levels = (movie * cal.gain + cal.zero_level).astype(np.uint16)
        synthetic.write_tiff(folder / name, levels, properties=calibration_properties(cal))
    pipeline.Recording.populate(key)
    rows = (pipeline.Recording & key).to_dicts(order_by="recording_num")
    assert [r["source_file"].rsplit("/", 1)[1] for r in rows] == ["a.TIFF", "b.tif"]
    assert all(r["calibration_source"] == "tiff" for r in rows)
    assert rows[0]["calibration"] == cal.to_dict()
    assert rows[0]["frame_rate"] is None or np.isnan(rows[0]["frame_rate"])


def test_volume_recording(pipeline):
    key = new_session(pipeline)
    volume = synthetic.make_volume(
        n_frames=12, n_planes=3, shape=(48, 48), max_shift=2, n_neurons=6, neuron_radius=(3, 4), seed=2
    )
    synthetic.write_tiff(
        pipeline.session_folder(key) / "v.tif", volume.movie, frame_rate=5.0, plane_spacing=7.5
    )
    pipeline.VolumeRecording.populate(key)
    pipeline.Recording.populate(key)
    row = (pipeline.VolumeRecording & key).fetch1()
    assert row["n_planes"] == 3 and row["plane_spacing"] == pytest.approx(7.5)
    assert row["volume_movie"].shape == (12, 3, 48, 48)
    assert len(pipeline.Recording & key) == 0  # a 4D stack is not a 2D recording
    # nothing stays "pending" for ever: a volume-only session is not Recording's to import
    assert len(pipeline.Recording.key_source & key) == 0
    assert len(pipeline.VolumeRecording.key_source & key) == 1


@pytest.mark.parametrize("problem", ["corrupt", "missing folder", "single image"])
def test_bad_tiff_goes_to_the_jobs_table_and_stores_nothing(pipeline, store_root, problem):
    key = new_session(pipeline)
    folder = pipeline.session_folder(key)
    good = synthetic.make_movie(n_frames=10, shape=(24, 24), n_neurons=1, max_shift=1, neuron_radius=(3, 4), seed=3).movie
    synthetic.write_tiff(folder / "a.tif", good)
    if problem == "corrupt":
        (folder / "b.tif").write_bytes(b"II*\x00 this is not a tiff")
        expected = "not a readable TIFF"
    elif problem == "single image":
        import tifffile

        tifffile.imwrite(folder / "b.tif", good[0])
        expected = "a single image"
    else:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
        expected = "no TIFF stacks"
    before = zarr_folders(store_root)
    result = pipeline.Recording.populate(key, reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 0
    assert len(pipeline.Recording & key) == 0
    assert zarr_folders(store_root) == before
    errors = pipeline.Recording.jobs.errors & key
    assert len(errors) == 1
    assert expected in errors.fetch1("error_message")


def test_populate_all_with_progress_and_storage_report(pipeline):
    key = new_session(pipeline)
    movie = synthetic.make_movie(n_frames=40, shape=(48, 48), n_neurons=3, seed=5).movie
    synthetic.write_tiff(pipeline.session_folder(key) / "a.tif", movie)
    seen = []
    with reporting(progress=lambda stage, done, total: seen.append((stage, done, total))):
        results = pipeline.populate(key)
    assert {r.table for r in results} == {t.__name__ for t in pipeline.computed}
    assert not any(r.errors for r in results)
    stages = {s for s, _, _ in seen}
    assert {"motion correction", "ROI detection", "traces"} <= stages
    assert ("import a.tif", 40, 40) in seen
    movies = [m for m in pipeline.stored_movies() if m.key.get("mouse_id") == key["mouse_id"]]
    assert {m.table for m in movies} == {"Recording", "MotionCorrected"}
    assert all(m.ratio > 2 and m.store == "active" for m in movies)


def test_cancel_inside_make_leaves_no_row_and_no_zarr(pipeline, store_root):
    from napari_photon.storage import Cancelled

    key = new_session(pipeline)
    movie = synthetic.make_movie(n_frames=30, shape=(32, 32), n_neurons=2, max_shift=2, neuron_radius=(3, 4), seed=6).movie
    synthetic.write_tiff(pipeline.session_folder(key) / "a.tif", movie)
    synthetic.write_tiff(pipeline.session_folder(key) / "b.tif", movie)
    before = zarr_folders(store_root)

    def cancel_on_second_file(stage, done, total):
        if stage == "import b.tif":
            flag.append(True)

    flag: list = []
    with reporting(progress=cancel_on_second_file, cancel=lambda: bool(flag)):
        with pytest.raises(Cancelled):
            pipeline.Recording.populate(key)
    assert len(pipeline.Recording & key) == 0
    assert zarr_folders(store_root) == before
