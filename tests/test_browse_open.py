"""``browse.open_recording`` / ``recording_layers``: lazy layer data of a stored recording."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from test_browse_tree import new_mouse
from test_viewer_layers import ReadCounter


def _stored_bytes(movie) -> int:
    folder = movie.location.local_path
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and f.name != "zarr.json")


def test_open_processed_recording_reads_one_frame_per_movie(pipeline, monkeypatch):
    from napari_photon.browse import PipelineTables, open_recording, recording_layers

    session = new_mouse(pipeline, frames=60, populate=(pipeline.MotionCorrected, pipeline.ROI))
    key = {**session, "recording_num": 1}
    tables = PipelineTables.from_pipeline(pipeline)
    reads = ReadCounter(monkeypatch)
    opened = open_recording(tables, "recording", key)
    layers = recording_layers(opened)
    names = [kwargs["name"] for _, kwargs, _ in layers]
    prefix = f"mouse {session['mouse_id']} {session['session_date']} #1"
    assert names == [
        f"{prefix} raw (stabilized)",
        f"{prefix} motion corrected",
        f"{prefix} reference",
        f"{prefix} mean",
        f"{prefix} max",
        f"{prefix} correlation",
        f"{prefix} ROIs",
    ]
    kinds = [kind for _, _, kind in layers]
    assert kinds == ["image"] * 6 + ["labels"]
    raw, corrected = layers[0][0], layers[1][0]
    for data in (raw, corrected):
        assert isinstance(data, da.Array) and data.shape == (60, 48, 48)
        assert data.chunksize[0] == 1
    assert not layers[0][1]["visible"] and layers[1][1]["visible"]  # corrected shown
    total = _stored_bytes(opened.movie) + _stored_bytes(opened.corrected)
    assert 0 < reads.nbytes < 0.2 * total, (reads.nbytes, total)  # one frame per movie
    assert len({k for k, _ in reads.requests}) <= 2

    labels = layers[-1][0]
    masks = (pipeline.ROI & key).fetch1("roi_masks")
    assert labels.max() == len(masks)
    for i, mask in enumerate(masks):
        alone = mask & (masks.sum(axis=0) == 1)
        assert np.all(labels[alone] == i + 1)  # label value = roi_id
    for _, kwargs, _ in layers:
        meta = kwargs["metadata"]
        assert meta["key"] == {**session, "recording_num": 1} or meta["key"] == opened.key
        assert meta["napari_photon"]["schema"] == pipeline.database
    assert layers[1][1]["metadata"]["napari_photon"]["row_key"]["motion_params_id"] == 1
    assert layers[-1][1]["metadata"]["napari_photon"]["n_rois"] == len(masks)


def test_photon_display_and_raw_only(pipeline):
    from napari_photon.browse import PipelineTables, movie_view, open_recording, recording_layers

    session = new_mouse(pipeline, frames=20, seed=3)
    opened = open_recording(
        PipelineTables.from_pipeline(pipeline), "recording", {**session, "recording_num": 1}
    )
    assert opened.corrected is None and opened.masks is None and not opened.images
    ((data, kwargs, _),) = recording_layers(opened, "photons")
    assert kwargs["visible"] and kwargs["metadata"]["napari_photon"]["display"] == "photons"
    frame = data[10].compute()
    stabilized = opened.movie[10]
    assert np.allclose(frame, np.maximum(stabilized**2 / 4 - 0.375, 0), atol=1e-4)
    with pytest.raises(ValueError, match="display"):
        movie_view(opened.movie, "raw")


def test_volume_opens_as_4d(pipeline):
    from napari_photon.browse import PipelineTables, open_recording, recording_layers

    session = new_mouse(pipeline, volume=True)
    opened = open_recording(
        PipelineTables.from_pipeline(pipeline), "volume", {**session, "recording_num": 2}
    )
    ((data, kwargs, _),) = recording_layers(opened)
    assert data.shape == (6, 3, 32, 32) and data.chunksize == (1, 3, 32, 32)
    assert kwargs["axis_labels"] == ("t", "z", "y", "x")
    assert kwargs["name"].endswith("volume #2 raw (stabilized)")
    assert kwargs["metadata"]["napari_photon"]["table"] == "VolumeRecording"


def test_missing_recording(pipeline):
    from napari_photon.browse import PipelineTables, open_recording

    with pytest.raises(LookupError, match="no Recording row"):
        open_recording(
            PipelineTables.from_pipeline(pipeline),
            "recording",
            {"mouse_id": 987654, "session_date": "2026-01-01", "recording_num": 1},
        )
