"""ScanImage acquisitions in a session folder: one Recording (or VolumeRecording) per
channel, the functional channel processed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import new_session
from test_scanimage import write_acquisition

from napari_photon import synthetic
from napari_photon.pipeline._acquisitions import FUNCTIONAL_CHANNEL_VARIABLE

SHAPE = (16, 20)


def _photons(seed: int):
    rng = np.random.default_rng(seed)

    gradient = np.linspace(1.0, 4.0, SHAPE[1])[None, :] * np.ones(SHAPE)

    def page(t: int, z: int, channel: int) -> np.ndarray:
        level = (10 * channel + 3 * z + 2) * gradient  # a photon transfer curve to fit
        return (rng.poisson(level) * 4 + 100).astype(np.uint16)  # gain 4, offset 100

    return page


def _levels(row: dict, field: str) -> np.ndarray:
    """The stored movie back in digitizer levels, through the row's own calibration."""
    cal = row["calibration"]
    return row[field].photons("algebraic")[:] * cal["gain"] + cal["zero_level"]


def test_a_two_channel_acquisition_is_a_recording_per_channel(pipeline, monkeypatch):
    monkeypatch.setenv(FUNCTIONAL_CHANNEL_VARIABLE, "2")
    key = new_session(pipeline, note="scanimage")
    folder = pipeline.session_folder(key)
    folder.mkdir(parents=True)
    files = write_acquisition(folder, "plane", channels=(1, 2), planes=1, flyback=0,
                              time_points=60, files=2, page=_photons(1))
    synthetic.write_tiff(folder / "zz_plain.tif",
                         synthetic.make_movie(n_frames=40, shape=(48, 48), n_neurons=3,
                                              seed=5).movie)
    pipeline.populate(key, tables=("Recording",))
    rows = (pipeline.Recording & key).to_dicts(order_by="recording_num")
    assert [(r["recording_num"], r["channel"], r["functional"]) for r in rows] == [
        (1, 1, False), (2, 2, True), (3, None, True)]
    assert rows[0]["source_file"] == ";".join(str(f) for f in files)
    assert rows[0]["frame_rate"] == pytest.approx(30.0)
    assert rows[0]["zoom"] == 2.0 and rows[0]["pixel_size"] == pytest.approx(300 / SHAPE[1])
    assert rows[0]["raw_movie"].shape == (60, *SHAPE)
    # the channels are not mixed: 12 and 22 photons per pixel (x the gradient, mean 2.5),
    # at gain 4 and offset 100: mean levels 220 and 320
    means = [float(np.mean(_levels(r, "raw_movie"))) for r in rows[:2]]
    np.testing.assert_allclose(means, [220, 320], rtol=0.03)
    # motion correction runs for the functional channel and the plain stack only
    pipeline.populate(key, tables=("MotionCorrected",))
    done = sorted((pipeline.MotionCorrected & key).to_dicts(), key=lambda r: r["recording_num"])
    assert [r["recording_num"] for r in done] == [2, 3]


def test_a_scanimage_volume_is_a_volume_recording_per_channel(pipeline):
    key = new_session(pipeline, note="scanimage volume")
    folder = pipeline.session_folder(key)
    folder.mkdir(parents=True)
    write_acquisition(folder, "vol", channels=(1, 2), planes=3, flyback=1, time_points=24,
                      files=2, page=_photons(2))
    pipeline.populate(key, tables=("Recording", "VolumeRecording"))
    assert len(pipeline.Recording & key) == 0
    rows = (pipeline.VolumeRecording & key).to_dicts(order_by="recording_num")
    assert [(r["channel"], r["n_planes"]) for r in rows] == [(1, 3), (2, 3)]
    assert rows[0]["plane_spacing"] == 5.0 and rows[0]["frame_rate"] == pytest.approx(7.5)
    assert rows[0]["pixel_size"] == pytest.approx(300 / SHAPE[1])
    assert rows[1]["volume_movie"].shape == (24, 3, *SHAPE)
    planes = _levels(rows[1], "volume_movie").mean(axis=(0, 2, 3))
    # channel 2: 22, 25, 28 photons per pixel, mean levels 320, 350, 380: every plane in
    # its place, no flyback page (9999) in any
    np.testing.assert_allclose(planes, [320, 350, 380], rtol=0.03)
