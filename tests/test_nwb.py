"""NWB export: a populated recording written, inspected and read back equal."""

from __future__ import annotations

import warnings

import numpy as np
import pynwb
import pytest
from conftest import tiff_session

from napari_photon.cli import main
from napari_photon.interop import NwbExportError, export_recording

_made: dict = {}


@pytest.fixture
def populated(pipeline):
    """A recording with its motion correction, ROIs and traces (made once per module)."""
    if "key" not in _made:
        key = tiff_session(pipeline, "nwb", n_frames=120)
        pipeline.populate(key, tables=("Recording", "MotionCorrected", "ROI", "Trace"))
        pipeline.Mouse.update1({"mouse_id": key["mouse_id"], "date_of_birth": "2026-08-01"})
        _made["key"] = (pipeline.Recording & key).keys()[0]
    assert len(pipeline.Trace & _made["key"]) > 0
    return pipeline, _made["key"]


def _critical(path) -> list:
    from nwbinspector import Importance, inspect_nwbfile

    return [m for m in inspect_nwbfile(nwbfile_path=str(path))
            if m.importance in (Importance.CRITICAL, Importance.PYNWB_VALIDATION,
                                Importance.ERROR)]


def test_an_exported_recording_reads_back_equal_and_passes_the_inspector(populated, tmp_path):
    pipeline, key = populated
    with warnings.catch_warnings():
        # hdmf's "does not share an ancestor": a series linked to an ROI table elsewhere
        warnings.filterwarnings("error", message=".*does not share an ancestor.*")
        path = export_recording(pipeline, key, tmp_path / "rec.nwb")
    problems = _critical(path)
    assert problems == [], [(m.message, m.location) for m in problems]
    movie = (pipeline.Recording & key).fetch1("raw_movie")
    masks = (pipeline.ROI & key).fetch1("roi_masks")
    metrics = (pipeline.ROI & key).fetch1("roi_metrics")
    traces = (pipeline.Trace & key).to_dicts(order_by="roi_id")
    shift_x, shift_y = (pipeline.MotionCorrected & key).fetch1("shift_x", "shift_y")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.subject.subject_id == str(key["mouse_id"])
        assert nwb.subject.date_of_birth.date().isoformat() == "2026-08-01"
        assert nwb.session_start_time.date() == key["session_date"]
        series = nwb.acquisition["TwoPhotonSeries"]
        assert series.unit == "photons" and series.data.compression == "gzip"
        np.testing.assert_array_equal(series.data[:], movie.photons("algebraic")[:])
        ophys = nwb.processing["ophys"]
        segment = ophys["ImageSegmentation"]["PlaneSegmentation_m1_r1"]
        np.testing.assert_array_equal(np.asarray(segment["image_mask"][:], bool), masks)
        np.testing.assert_allclose(segment["snr"][:], metrics["snr"])
        f = ophys["Fluorescence"]["F_m1_r1"].data[:]
        np.testing.assert_array_equal(f, np.stack([t["fluorescence"] for t in traces], 1))
        neuropil = ophys["Fluorescence"]["Neuropil_m1_r1"].data[:]
        np.testing.assert_array_equal(neuropil, np.stack([t["neuropil"] for t in traces], 1))
        dff = ophys["DfOverF"]["DfOverF_m1_r1"].data[:]
        np.testing.assert_array_equal(dff, np.stack([t["dff"] for t in traces], 1))
        shifts = ophys["MotionShifts_m1"].data[:]
        np.testing.assert_array_equal(shifts, np.stack([shift_y, shift_x], 1))


def test_levels_are_gain_times_photons_plus_zero_level(populated, tmp_path):
    pipeline, key = populated
    calibration = (pipeline.Recording & key).fetch1("calibration")
    movie = (pipeline.Recording & key).fetch1("raw_movie")
    path = export_recording(pipeline, key, tmp_path / "levels.nwb", units="levels")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        series = io.read().acquisition["TwoPhotonSeries"]
        assert series.unit == "digitizer levels"
        expected = (movie.photons("algebraic")[:10] * np.float32(calibration["gain"])
                    + np.float32(calibration.get("zero_level", 0.0)))
        np.testing.assert_allclose(series.data[:10], expected, rtol=1e-6)


def test_inferred_events_are_exported_beside_the_traces(populated, tmp_path):
    pipeline, key = populated
    pipeline.populate(key, tables=("Activity",))
    events = (pipeline.Activity.Trace & key).to_dicts(order_by="roi_id")
    assert events
    path = export_recording(pipeline, key, tmp_path / "events.nwb")
    assert _critical(path) == []
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        deconvolved = io.read().processing["ophys"]["Deconvolved"]
        [name] = [n for n in deconvolved.roi_response_series if n.startswith("Events_")]
        series = deconvolved.roi_response_series[name]
        np.testing.assert_array_equal(series.data[:],
                                      np.stack([e["events"] for e in events], axis=1))
        assert list(series.rois.data[:]) == [e["roi_id"] for e in events]
        assert name.replace("Events_", "Denoised_") in deconvolved.roi_response_series


def test_the_pixel_size_of_an_acquisition_is_the_imaging_plane_grid(populated, tmp_path):
    pipeline, key = populated
    plain = export_recording(pipeline, key, tmp_path / "plain.nwb")
    with pynwb.NWBHDF5IO(str(plain), "r") as io:
        assert io.read().imaging_planes["ImagingPlane"].grid_spacing is None  # not known
    pipeline.Recording.update1({**key, "pixel_size": 1.25})
    try:
        path = export_recording(pipeline, key, tmp_path / "grid.nwb")
    finally:
        pipeline.Recording.update1({**key, "pixel_size": None})
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        plane = io.read().imaging_planes["ImagingPlane"]
        assert list(plane.grid_spacing) == [1.25, 1.25]
        assert plane.grid_spacing_unit == "micrometers"


def test_bad_requests_are_refused_and_leave_no_file(populated, tmp_path):
    pipeline, key = populated
    with pytest.raises(NwbExportError, match="units must be one of"):
        export_recording(pipeline, key, tmp_path / "x.nwb", units="volts")
    with pytest.raises(NwbExportError, match="selects 0 recordings"):
        export_recording(pipeline, {**key, "recording_num": 99}, tmp_path / "x.nwb")
    assert list(tmp_path.iterdir()) == []


def test_the_command_writes_one_file_per_recording(populated, tmp_path, capsys):
    pipeline, key = populated
    out = tmp_path / "out"
    assert main(["export", "nwb", "--schema", pipeline.database,
                 f"mouse_id={key['mouse_id']}", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"mouse{key['mouse_id']}_{key['session_date']}_rec1.nwb"]
    assert "1 file(s) written" in capsys.readouterr().out


def test_a_curated_version_is_its_own_plane_segmentation_with_labels(populated, tmp_path):
    pipeline, key = populated
    roi_key = (pipeline.ROI & key).keys()[0]
    masks = (pipeline.ROI & roi_key).fetch1("roi_masks")[:3]
    labels = ["cell", "not cell", "unsure"][: len(masks)]
    curation = pipeline.commit_curation(
        roi_key, masks, labels, ["detected"] * len(masks),
        [np.array([i]) for i in range(len(masks))], curator="pytest", note="nwb")
    pipeline.populate(curation, tables=("CuratedTrace",))
    path = export_recording(pipeline, key, tmp_path / "curated.nwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        ophys = io.read().processing["ophys"]
        name = f"m1_r1_c{curation['curation_id']}"
        segment = ophys["ImageSegmentation"][f"PlaneSegmentation_{name}"]
        assert list(segment["label"][:]) == labels
        np.testing.assert_array_equal(np.asarray(segment["image_mask"][:], bool), masks)
        traces = (pipeline.CuratedTrace & curation).to_dicts(order_by="roi_id")
        np.testing.assert_array_equal(ophys["Fluorescence"][f"F_{name}"].data[:],
                                      np.stack([t["fluorescence"] for t in traces], 1))


def test_a_volume_recording_is_exported_with_its_planes_last(pipeline, tmp_path):
    """A VolumeRecording (t, z, y, x) becomes a 4-D TwoPhotonSeries (frames, x, y, z) at
    its volume rate, with the plane spacing as the third grid spacing; no processing."""
    from conftest import new_session

    from napari_photon import synthetic
    from napari_photon.calibration import Calibration
    from napari_photon.io import calibration_properties

    key = new_session(pipeline, note="nwb volume")
    pipeline.Mouse.update1({"mouse_id": key["mouse_id"], "date_of_birth": "2026-08-01"})
    folder = pipeline.session_folder(key)
    folder.mkdir(parents=True)
    # more frames than pixels along a side: nwbinspector expects time to be the longest
    volume = synthetic.make_volume(n_frames=40, n_planes=3, shape=(32, 30), n_neurons=2,
                                   neuron_radius=(3.0, 4.0), seed=5)
    counts = calibration_properties(Calibration(gain=1.0, zero_level=0.0))  # photon counts
    synthetic.write_tiff(folder / "v.tif", volume.movie, frame_rate=4.0, plane_spacing=5.0,
                         properties=counts)
    pipeline.VolumeRecording.populate(key)
    row = (pipeline.VolumeRecording & key).fetch1()
    volume_key = {k: row[k] for k in ("mouse_id", "session_date", "recording_num")}
    pipeline.VolumeRecording.update1({**volume_key, "pixel_size": 0.8})

    assert main(["export", "nwb", "--schema", pipeline.database,
                 f"mouse_id={key['mouse_id']}", str(tmp_path)]) == 0
    [path] = list(tmp_path.glob("*.nwb"))
    assert _critical(path) == []
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        series = nwbfile.acquisition["TwoPhotonSeries"]
        expected = np.moveaxis(row["volume_movie"].photons("algebraic")[:], 1, -1)
        assert series.data.shape == (40, 32, 30, 3)
        np.testing.assert_array_equal(series.data[:], expected)
        assert series.rate == pytest.approx(row["frame_rate"])
        plane = nwbfile.imaging_planes["ImagingPlane"]
        assert list(plane.grid_spacing) == [0.8, 0.8, 5.0]
        assert "ophys" not in nwbfile.processing
