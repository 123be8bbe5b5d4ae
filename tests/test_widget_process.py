"""The process-recording dock: preview, commit (= populate), progress, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import zarr_folders
from test_browse_tree import new_mouse

TIMEOUT = 120_000


def _open(viewer, pipeline, key):
    """Add a recording's layers the way the browser does."""
    from napari.layers import Layer

    from napari_photon import browse

    opened = browse.open_recording(browse.PipelineTables.from_pipeline(pipeline), "recording", key)
    for data, kwargs, kind in browse.recording_layers(opened):
        viewer.add_layer(Layer.create(data, kwargs, kind))


def _plain(key: dict) -> dict:
    return {k: str(v) for k, v in key.items()}


@pytest.fixture
def dock(make_napari_viewer, qtbot, pipeline):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-photon", "Process recording")
    yield widget
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT)


def _select(qtbot, dock, key, step):
    with qtbot.waitSignal(dock.choicesLoaded, timeout=TIMEOUT):
        dock.select(key, step)
    assert dock.preview_button.isEnabled() and dock.commit_button.isEnabled()


def test_preview_then_commit_equals_populate(dock, qtbot, pipeline):
    reference = new_mouse(pipeline, frames=80, size=64, neurons=6, radius=(4.0, 5.0), seed=11)
    session = new_mouse(
        pipeline, frames=80, size=64, neurons=6, radius=(4.0, 5.0), seed=11, frames_per_shard=20
    )
    defaults = {**reference, "motion_params_id": 1, "roi_params_id": 1}
    pipeline.populate(defaults, tables=(pipeline.MotionCorrected, pipeline.ROI))
    key = {**session, "recording_num": 1}
    viewer = dock.viewer
    _open(viewer, pipeline, key)
    assert [_plain(k) for k, _ in dock.recordings] == [_plain(key)]
    assert not dock.preview_button.isEnabled() or dock.busy  # choices load in a worker
    _select(qtbot, dock, key, "motion")
    assert dock.input_box.currentText() == "recording"
    assert dock.params_box.currentText().startswith("1: rigid")
    assert dock.form.params() == {}  # the stored set: the algorithm's defaults
    assert dock.form.method() == "rigid" and dock.form.method_widget.choices == (
        "rigid",
        "piecewise",
    )
    assert dock.form.reference_frames.value == ""  # an automatic default, shown empty

    reports = []
    dock.progressed.connect(reports.append)
    with qtbot.waitSignal(dock.previewed, timeout=TIMEOUT) as blocker:
        dock.preview_button.click()
        assert dock.cancel_button.isEnabled()
    preview = blocker.args[0]
    assert len(pipeline.MotionCorrected & key) == 0  # nothing stored by a preview
    previews = [
        layer for layer in viewer.layers if layer.metadata["napari_photon"]["role"] == "preview"
    ]
    assert [layer.name.split(" preview ")[1] for layer in previews] == [
        "corrected_movie",
        "reference_image",
        "mean_image",
        "max_image",
    ]
    assert {r.stage for r in reports} == {"motion estimation", "motion correction"}
    assert reports[-1].fraction == 1.0
    assert dock.progress_bar.value() == dock.progress_bar.maximum()
    assert "shift_y" in dock.message.text()

    reports.clear()
    from napari_photon._widgets._changes import pipeline_changes

    changes: list = []
    pipeline_changes().changed.connect(lambda schema, origin: changes.append((schema, origin)))
    with qtbot.waitSignal(dock.committed, timeout=TIMEOUT) as blocker:
        dock.commit_button.click()
    stored = blocker.args[0]
    # the other docks hear of it (the browser reloads its status column, populate its counts)
    assert changes == [(pipeline.database, dock)]
    assert _plain(stored) == _plain({**key, "motion_params_id": 1})
    assert {r.stage for r in reports} >= {"motion estimation", "motion correction"}
    assert reports[-1].fraction == 1.0
    assert not any(layer.metadata["napari_photon"]["role"] == "preview" for layer in viewer.layers)
    assert viewer.layers[-1].name.endswith("motion corrected")
    mine = (pipeline.MotionCorrected & stored).fetch1()
    ref = (pipeline.MotionCorrected & {**defaults, "recording_num": 1}).fetch1()
    for name in ("shift_x", "shift_y", "reference_image", "correlation_before"):
        np.testing.assert_array_equal(mine[name], ref[name])
        np.testing.assert_array_equal(mine[name], preview.rows[0][name])
    np.testing.assert_array_equal(
        (pipeline.MotionCorrected.QC & stored).fetch1("mean_image"),
        (pipeline.MotionCorrected.QC & {**defaults, "recording_num": 1}).fetch1("mean_image"),
    )
    np.testing.assert_array_equal(
        np.asarray(mine["corrected_movie"]), np.asarray(ref["corrected_movie"])
    )

    _select(qtbot, dock, key, "rois")
    assert dock.input_box.currentText() == "motion_params_id=1"
    with qtbot.waitSignal(dock.committed, timeout=TIMEOUT) as blocker:
        dock.commit_button.click()
    roi_key = blocker.args[0]
    masks = (pipeline.ROI & roi_key).fetch1("roi_masks")
    np.testing.assert_array_equal(
        masks, (pipeline.ROI & {**defaults, "recording_num": 1}).fetch1("roi_masks")
    )
    labels = viewer.layers[-1]
    assert labels.name.endswith("ROIs") and labels.data.max() == len(masks)

    # committing again says so, and stores nothing new
    _select(qtbot, dock, key, "rois")
    with qtbot.waitSignal(dock.failed, timeout=TIMEOUT) as blocker:
        dock.commit_button.click()
    assert "already holds" in blocker.args[0]


def test_edited_parameters_become_a_new_set(dock, qtbot, pipeline):
    session = new_mouse(pipeline, frames=30, seed=4)
    key = {**session, "recording_num": 1}
    _open(dock.viewer, pipeline, key)
    _select(qtbot, dock, key, "motion")
    assert dock.edited_label.text() == ""
    dock.form.reference_frames.value = "10"
    assert "new parameter set" in dock.edited_label.text()
    with qtbot.waitSignal(dock.committed, timeout=TIMEOUT) as blocker:
        dock.commit_button.click()
    stored = blocker.args[0]
    assert stored["motion_params_id"] > 1
    params = (pipeline.MotionParams & stored).fetch1("params")
    assert params == {"reference_frames": 10}
    assert len(pipeline.MotionCorrected & stored) == 1


def test_cancel_stores_nothing(dock, qtbot, pipeline, store_root, monkeypatch):
    from napari_photon import browse

    session = new_mouse(pipeline, frames=60, seed=9, frames_per_shard=10)
    key = {**session, "recording_num": 1}
    _open(dock.viewer, pipeline, key)
    _select(qtbot, dock, key, "motion")
    before = zarr_folders(store_root)

    # hold the worker until Cancel was pressed, so the cancel cannot come too late
    gate = threading.Event()
    real_commit = browse.commit

    def gated(step, process_key):
        assert gate.wait(60)
        return real_commit(step, process_key)

    monkeypatch.setattr(browse, "commit", gated)
    with qtbot.waitSignal(dock.failed, timeout=TIMEOUT) as blocker:
        dock.commit_button.click()
        dock.cancel_button.click()
        assert dock.stage_label.text() == "Cancelling…"
        gate.set()
    assert blocker.args[0] == "Cancelled: nothing was stored."
    assert dock.message.text() == "Cancelled: nothing was stored."
    assert len(pipeline.MotionCorrected & key) == 0
    assert zarr_folders(store_root) == before
    qtbot.waitUntil(lambda: not dock.busy, timeout=TIMEOUT)
    assert dock.commit_button.isEnabled() and not dock.cancel_button.isEnabled()


def test_no_recording_open(dock):
    assert dock.recordings == [] and not dock.commit_button.isEnabled()
    with pytest.raises(ValueError, match="not open"):
        dock.select({"mouse_id": "x", "session_date": "2026-01-01", "recording_num": 1})
