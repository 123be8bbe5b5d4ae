"""The Curate ROIs dock: a real napari viewer, a real pipeline on the embedded server."""

from __future__ import annotations

import numpy as np
import pytest
from test_browse_tree import new_mouse

TIMEOUT = 120_000


def _open(viewer, pipeline, key):
    """Add a recording's layers the way the browser does."""
    from napari.layers import Layer

    from napari_photon import browse

    opened = browse.open_recording(browse.PipelineTables.from_pipeline(pipeline), "recording", key)
    for data, kwargs, kind in browse.recording_layers(opened):
        viewer.add_layer(Layer.create(data, kwargs, kind))


@pytest.fixture
def recording(pipeline):
    """A recording with motion correction, ROIs and traces stored."""
    session = new_mouse(pipeline, frames=60, size=64, neurons=8, radius=(4.0, 5.0), seed=21)
    key = {**session, "recording_num": 1}
    pipeline.populate(key, tables=(pipeline.MotionCorrected, pipeline.ROI, pipeline.Trace))
    assert len(pipeline.ROI & key) == 1 and (pipeline.ROI & key).fetch1("n_rois") >= 4
    return key


@pytest.fixture
def dock(make_napari_viewer, qtbot, pipeline, recording):
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-photon", "Curate ROIs")
    with qtbot.waitSignal(widget.loaded, timeout=TIMEOUT):
        _open(viewer, pipeline, recording)
    yield widget
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT)


def test_dock_shows_the_rois_in_layer_and_table(dock, pipeline, recording):
    masks = (pipeline.ROI & recording).fetch1("roi_masks")
    n = len(masks)
    layer = dock.layer
    assert layer.name.endswith("curation")
    assert {k: str(v) for k, v in layer.metadata["key"].items()} == {
        k: str(recording[k]) for k in ("mouse_id", "session_date", "recording_num")
    }
    # label value roi_id + 1 where each mask lies (the later one where masks overlap)
    from napari_photon._viewer_layers import masks_to_labels

    np.testing.assert_array_equal(np.asarray(layer.data), masks_to_labels(masks))
    assert dock.table.model.rowCount() == n
    names = dock.table.model.names
    for metric in ("roi_id", "label", "area", "compactness", "snr", "skew"):
        assert metric in names
    areas = dock.table.model.columns["area"]
    np.testing.assert_array_equal(areas, masks.sum(axis=(1, 2)))
    # every ROI coloured (by label); the background transparent
    label_color = __import__("napari_photon").browse.LABEL_COLORS
    colors = layer.colormap.map(np.arange(n + 1))
    assert colors[0][3] == 0
    for roi in range(n):
        assert np.allclose(colors[roi + 1], label_color[dock.model.rois.labels[roi]])


def test_table_sorts_and_filters_by_a_metric(dock, pipeline, recording):
    table = dock.table
    column = table.model.names.index("area")
    table.view.sortByColumn(column, __import__("qtpy").QtCore.Qt.SortOrder.DescendingOrder)
    shown = [float(table.proxy.index(r, column).data()) for r in range(table.proxy.rowCount())]
    assert shown == sorted(shown, reverse=True)
    areas = table.model.columns["area"]
    middle = float(np.median(areas))
    table.set_filter("area", low=middle)
    assert table.proxy.rowCount() == int((areas >= middle).sum())
    assert f"{table.proxy.rowCount()} of {len(areas)}" in table.count_label.text()
    table.clear_filters()
    assert table.proxy.rowCount() == len(areas)


def test_selection_is_shared_by_table_layer_and_traces(dock, qtbot, pipeline, recording):
    table, layer = dock.table, dock.layer
    table.view.clearSelection()
    with qtbot.waitSignal(dock.tracesShown, timeout=TIMEOUT) as shown:
        table.view.selectRow(2)
    roi = table.selected()[0]
    assert shown.args[0] == [roi]
    assert layer.selected_label == roi + 1
    assert dock.plot.shown == [roi] and dock.plot.curves() == 3  # F, neuropil, dF/F
    stored = (pipeline.Trace & recording & {"roi_id": roi}).fetch1("fluorescence")
    curve = dock.plot.fluorescence.listDataItems()[0]
    np.testing.assert_allclose(curve.yData, stored, rtol=1e-6)

    # picking a label in the layer (napari's own selected_label) selects that row
    other = next(r for r in range(table.model.rowCount()) if r != roi)
    with qtbot.waitSignal(dock.tracesShown, timeout=TIMEOUT):
        layer.selected_label = other + 1
    assert table.selected() == [other]

    # a click on the canvas (pan/zoom mode) on an ROI's pixel selects it
    from napari.utils.interactions import mouse_press_callbacks

    from napari_photon._viewer_layers import masks_to_labels

    masks = (pipeline.ROI & recording).fetch1("roi_masks")
    y, x = np.argwhere(masks_to_labels(masks) == roi + 1)[0]
    layer.mode = "pan_zoom"
    with qtbot.waitSignal(dock.tracesShown, timeout=TIMEOUT):
        dock.viewer.cursor.position = (0, float(y), float(x))
        mouse_press_callbacks(layer, _press(dock.viewer))
    assert dock.selected == [roi] and table.selected() == [roi]


def _press(viewer):
    """A napari mouse-press event at the viewer's cursor position."""
    from napari.utils._proxies import ReadOnlyWrapper
    from vispy.app.canvas import MouseEvent

    event = MouseEvent(type="mouse_press", pos=(0, 0), modifiers=(), button=1)
    event.position = viewer.cursor.position
    event.view_direction = None
    event.dims_displayed = [1, 2]
    return ReadOnlyWrapper(event, exceptions=("handled",))


def test_trace_cursor_follows_the_time_slider_and_a_click_moves_it(dock, qtbot, recording):
    from qtpy.QtCore import QPointF, Qt

    dock.table.view.clearSelection()
    with qtbot.waitSignal(dock.tracesShown, timeout=TIMEOUT):
        dock.table.view.selectRow(0)
    dock.viewer.dims.set_current_step(0, 17)
    assert dock.plot.frame == 17
    qtbot.waitExposed(dock.plot.graphics)
    box = dock.plot.dff.getViewBox()
    box.setXRange(0, 59, padding=0)
    scene = box.mapViewToScene(QPointF(42.0, float(np.mean(box.viewRange()[1]))))
    point = dock.plot.graphics.mapFromScene(scene)
    qtbot.mouseClick(dock.plot.graphics.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert dock.viewer.dims.current_step[0] == 42
    assert dock.plot.frame == 42


def _state(dock):
    """The curated set as comparable values: label image, labels, origins, sources."""
    rois = dock.model.rois
    return (rois.label_image().tobytes(), rois.labels, rois.origins, rois.sources)


def _key(qtbot, dock, key):
    from qtpy.QtGui import QKeySequence

    sequence = QKeySequence(key)[0]
    window = dock.window()
    window.activateWindow()
    dock.table.view.setFocus()
    qtbot.waitUntil(dock.table.view.hasFocus, timeout=5000)
    qtbot.keyClick(dock.table.view, sequence.key(), sequence.keyboardModifiers())


def _big(dock, n=1):
    """roi_ids of the n largest ROIs (big enough to split)."""
    areas = np.asarray(dock.model.rois.areas)
    return [int(i) for i in np.argsort(-areas)[:n]]


def _prepare(dock, name):
    """Select what ``name`` needs and draw what it needs; returns nothing."""
    shape = dock.model.shape
    if name in ("accept", "reject", "unsure", "delete"):
        dock.select([0, 1])
    elif name == "merge":
        dock.select([0, 1, 2])
    elif name == "split":
        dock.select(_big(dock))
    elif name == "split_line":
        roi = _big(dock)[0]
        ys, xs = np.nonzero(dock.model.rois.mask(roi))
        cx = float(np.median(xs))
        dock.line_layer.add_lines(np.array([[ys.min() - 2.0, cx], [ys.max() + 2.0, cx]]))
        dock.select([roi])
    elif name == "add_drawn":
        data = np.zeros(shape, np.uint8)
        data[2:7, 2:8] = 1
        dock.draw_layer.data = data
    elif name == "erase":
        roi = _big(dock)[0]
        ys, xs = np.nonzero(dock.model.rois.mask(roi))
        data = np.zeros(shape, np.uint8)
        data[ys[:3], xs[:3]] = 1
        dock.draw_layer.data = data
        dock.select([roi])


def _trigger(qtbot, dock, name, how):
    """Run action ``name`` by its key or its button; wait for the dock to show the change."""
    from napari_photon._widgets._curate_actions import ACTIONS

    with qtbot.waitSignal(dock.changed, timeout=TIMEOUT):
        if how == "key":
            _key(qtbot, dock, next(a.key for a in ACTIONS if a.name == name))
        else:
            dock.actions.buttons[name].click()


EDITS = ("accept", "reject", "unsure", "merge", "split", "split_line", "add_drawn", "erase",
         "delete")


@pytest.mark.parametrize("how", ["key", "button"])
@pytest.mark.parametrize("name", EDITS)
def test_each_action_then_undo_and_redo(dock, qtbot, name, how):
    from napari_photon._widgets._curate_actions import ACTIONS

    keys = {a.name: a.key for a in ACTIONS}
    if name in ("accept",):  # start from another label so accepting changes something
        dock.select([0, 1])
        _trigger(qtbot, dock, "reject", "button")
    _prepare(dock, name)
    before = _state(dock)
    with qtbot.waitSignal(dock.changed, timeout=TIMEOUT):
        if how == "key":
            _key(qtbot, dock, keys[name])
        else:
            dock.actions.buttons[name].click()
    after = _state(dock)
    assert after != before, dock.message.text()
    assert dock.table.model.rowCount() == len(dock.model.rois)
    np.testing.assert_array_equal(np.asarray(dock.layer.data), dock.model.label_image())
    if name in ("accept", "reject", "unsure"):
        label = {"accept": "cell", "reject": "not cell", "unsure": "unsure"}[name]
        assert dock.model.rois.labels[0] == dock.model.rois.labels[1] == label
        color = dock.layer.colormap.map(1)
        assert np.allclose(color, __import__("napari_photon").browse.LABEL_COLORS[label])
    _trigger(qtbot, dock, "undo", how)
    assert _state(dock) == before
    np.testing.assert_array_equal(np.asarray(dock.layer.data), dock.model.label_image())
    _trigger(qtbot, dock, "redo", how)
    assert _state(dock) == after


def test_bad_input_says_so_and_changes_nothing(dock, qtbot):
    before = _state(dock)
    cases = [
        ([0], "merge", "merge"),  # one ROI is no merge
        ([], "accept", ""),  # nothing selected
        ([0, 1], "split", "exactly one"),
        ([0], "add_drawn", "Nothing is drawn"),
        ([0], "split_line", "Draw a line"),
    ]
    for selection, name, words in cases:
        dock.select(selection)
        with qtbot.waitSignal(dock.failed, timeout=TIMEOUT) as failed:
            dock.actions.buttons[name].click()
        assert words.lower() in failed.args[0].lower()
        assert dock.message.isVisible() and dock.message.text() == failed.args[0]
        assert _state(dock) == before
    # a polygon partly outside the frame
    dock.line_layer.add_polygons(np.array([[-5.0, -5.0], [-5.0, 10.0], [10.0, 10.0]]))
    with qtbot.waitSignal(dock.failed, timeout=TIMEOUT) as failed:
        dock.actions.buttons["add_drawn"].click()
    assert "outside the frame" in failed.args[0]
    assert _state(dock) == before


def test_bulk_relabel_previews_the_count(dock, qtbot):
    bulk = dock.bulk
    bulk.metric.setCurrentText("area")
    areas = np.asarray(dock.model.rois.areas)
    threshold = float(np.median(areas))
    bulk.side.setCurrentText("below")
    bulk.label.setCurrentText("not cell")
    bulk.threshold.setValue(threshold)
    expected = int((areas < threshold).sum())
    assert bulk.preview.text().startswith(f"{expected} ROI(s)")
    with qtbot.waitSignal(dock.changed, timeout=TIMEOUT):
        bulk.apply_button.click()
    labels = np.array(dock.model.rois.labels)
    assert (labels[areas < threshold] == "not cell").all()
    assert (labels[areas >= threshold] == "cell").all()
    dock.hide_rejected.setChecked(True)
    assert dock.table.proxy.rowCount() == int((areas >= threshold).sum())
    hidden = int(np.flatnonzero(areas < threshold)[0])
    shown = int(np.flatnonzero(areas >= threshold)[0])
    assert dock.layer.colormap.map(hidden + 1)[3] == 0
    assert dock.layer.colormap.map(shown + 1)[3] > 0


# -- commit and versions -------------------------------------------------------------------------
def _commit(qtbot, dock, curator, note=""):
    """Commit through the Commit panel; returns the new version's key."""
    dock.commit_panel.curator.setText(curator)
    dock.commit_panel.note.setText(note)
    with qtbot.waitSignal(dock.committed, timeout=TIMEOUT) as done:
        dock.commit_panel.commit_button.click()
    qtbot.waitUntil(lambda: not dock.busy, timeout=TIMEOUT)
    return done.args[0]


def test_commit_stores_the_version_its_masks_and_traces(dock, qtbot, pipeline, recording):
    from napari_photon import browse
    from napari_photon._widgets._changes import pipeline_changes

    n = len(dock.model.rois)
    dock.select([0, 1])
    _trigger(qtbot, dock, "merge", "button")
    dock.select([2])
    _trigger(qtbot, dock, "reject", "button")
    state = dock.model.rois
    heard = []
    pipeline_changes().changed.connect(lambda schema, origin: heard.append((schema, origin)))
    key = _commit(qtbot, dock, "ada", "merged 0 and 1")

    assert (pipeline.database, dock) in heard
    row = (pipeline.Curation & key).fetch1()
    assert (row["curator"], row["note"]) == ("ada", "merged 0 and 1")
    assert row["parent_curation_id"] is None and row["parent_kind"] == "detected"
    stored = (pipeline.Curation.Mask & key).to_dicts(order_by="roi_id")
    assert len(stored) == len(state) == n - 1
    for i, r in enumerate(stored):
        np.testing.assert_array_equal(r["mask"], state.mask(i))
        assert r["label"] == state.labels[i] and r["origin"] == state.origins[i]
        assert r["sources"].tolist() == list(state.sources[i])
    assert "merged" in [r["origin"] for r in stored]
    assert sorted(next(r for r in stored if r["origin"] == "merged")["sources"]) == [0, 1]
    assert len(pipeline.CuratedTrace & key) == n - 1
    # the picker lists the new version
    assert dock.start_box.count() == 2 and "curation 1 (ada" in dock.start_box.itemText(1)

    # a second curator's version sits beside the first
    second = _commit(qtbot, dock, "grace")
    assert second["curation_id"] == key["curation_id"] + 1
    assert len(pipeline.Curation & browse.recording_key(recording)) == 2
    assert len(pipeline.CuratedTrace & second) == n - 1
    from test_browse_tree import _mine, _tables

    (mouse,) = _mine(browse.load_tree(_tables(pipeline)), recording["mouse_id"])
    (node,) = [r for s in mouse.sessions for r in s.recordings
               if r.key["recording_num"] == recording["recording_num"]]
    assert node.status.text("curated") == "2 versions"


def test_start_from_a_committed_version_and_commit_its_child(dock, qtbot, pipeline, recording):
    dock.select([0])
    _trigger(qtbot, dock, "reject", "button")
    dock.select([1, 2])
    _trigger(qtbot, dock, "merge", "button")
    first = _commit(qtbot, dock, "ada")
    parent = dock.model.rois

    with qtbot.waitSignal(dock.loaded, timeout=TIMEOUT):
        dock.start_from(first["curation_id"])
    rois = dock.model.rois
    assert dock.start_box.currentIndex() == 1
    assert rois.labels == parent.labels
    assert rois.origins == ("detected",) * len(parent)
    assert rois.sources == tuple((i,) for i in range(len(parent)))
    np.testing.assert_array_equal(rois.label_image(), parent.label_image())
    # traces of the version come from CuratedTrace
    with qtbot.waitSignal(dock.tracesShown, timeout=TIMEOUT):
        dock.select([1])
    stored = (pipeline.CuratedTrace & first & {"roi_id": 1}).fetch1("fluorescence")
    np.testing.assert_allclose(dock.plot.fluorescence.listDataItems()[0].yData, stored, rtol=1e-6)

    dock.select([0])
    _trigger(qtbot, dock, "accept", "button")
    child = _commit(qtbot, dock, "grace")
    row = (pipeline.Curation & child).fetch1()
    assert row["parent_curation_id"] == first["curation_id"] and row["parent_kind"] == "curation"
    masks = (pipeline.Curation.Mask & child).to_dicts(order_by="roi_id")
    assert [r["sources"].tolist() for r in masks] == [[i] for i in range(len(parent))]
    assert masks[0]["label"] == "cell"

    # back to the detected set through the picker
    with qtbot.waitSignal(dock.loaded, timeout=TIMEOUT):
        dock.start_box.activated.emit(0)
    assert dock.model.inputs.parent_curation_id is None
    assert len(dock.model.rois) == len((pipeline.ROI & recording).fetch1("roi_masks"))


# -- drafts ----------------------------------------------------------------------------------------
def _reopen(qtbot, dock):
    """A new Curate ROIs dock on the same viewer (the recording is still open)."""
    from napari_photon._widgets._curate import CurateRois

    dock.model_draft = dock.model.draft
    dock.model = None  # drop the first session without committing
    again = CurateRois(dock.viewer)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.model is not None and not again.busy, timeout=TIMEOUT)
    return again


def test_a_draft_is_offered_on_reopen_and_restores_the_same_state(dock, qtbot, pipeline):
    dock.select([0, 1])
    _trigger(qtbot, dock, "merge", "button")
    dock.select([0])
    _trigger(qtbot, dock, "unsure", "button")
    expected = _state(dock)
    assert dock.model.draft.is_file() and not dock.draft_bar.isVisibleTo(dock)

    again = _reopen(qtbot, dock)
    assert again.draft_bar.isVisibleTo(again) and again.draft_bar.info.path == dock.model_draft
    assert "2 actions" in again.draft_bar.label.text()
    assert _state(again) != expected  # the detected set is shown until Restore
    with qtbot.waitSignal(again.loaded, timeout=TIMEOUT):
        again.draft_bar.restore_button.click()
    assert _state(again) == expected
    assert not again.draft_bar.isVisibleTo(again)
    np.testing.assert_array_equal(np.asarray(again.layer.data), again.model.label_image())
    # the restored session goes on saving the draft; a commit discards it
    again.select([0])
    _trigger(qtbot, again, "accept", "button")
    draft = again.model.draft
    assert draft.is_file()
    _commit(qtbot, again, "ada")
    assert not draft.exists()
    third = _reopen(qtbot, again)
    assert not third.draft_bar.isVisibleTo(third)


def test_discard_deletes_the_offered_draft(dock, qtbot):
    dock.select([0])
    _trigger(qtbot, dock, "reject", "button")
    draft = dock.model.draft
    again = _reopen(qtbot, dock)
    assert again.draft_bar.isVisibleTo(again)
    again.draft_bar.discard_button.click()
    assert not draft.exists() and not again.draft_bar.isVisibleTo(again)
    assert set(again.model.rois.labels) == {"cell"}


def test_a_draft_of_a_killed_process_is_offered(dock, qtbot, tmp_path):
    import json
    import os
    import signal
    import subprocess
    import sys

    from napari_photon import browse, curation

    draft = dock.model.draft
    source = browse.draft_source(dock.model.inputs)
    masks = tmp_path / "masks.npy"
    np.save(masks, dock.model.rois.masks())
    script = (
        "import json, sys, time, numpy as np\n"
        "from napari_photon import curation\n"
        "rois = curation.RoiSet.from_masks(np.load(sys.argv[1]))\n"
        "session = curation.CurationSession(rois, sys.argv[2], source=json.loads(sys.argv[3]))\n"
        "session.set_label([0], 'not cell')\n"
        "session.merge([1, 2])\n"
        "print('saved', flush=True)\n"
        "time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(masks), str(draft), json.dumps(source)],
        stdout=subprocess.PIPE, text=True, env={**os.environ},
    )
    try:
        assert child.stdout.readline().strip() == "saved"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    expected = curation.merge(curation.set_label(dock.model.rois, [0], "not cell"), [1, 2])
    again = _reopen(qtbot, dock)
    assert again.draft_bar.isVisibleTo(again)
    with qtbot.waitSignal(again.loaded, timeout=TIMEOUT):
        again.restore_draft()
    assert again.model.rois.labels == expected.labels
    assert again.model.rois.sources == expected.sources
    np.testing.assert_array_equal(again.model.rois.label_image(), expected.label_image())


# -- files -----------------------------------------------------------------------------------------
def _disk(shape, centre, radius):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def _suite2p_folder(folder, masks, iscell):
    """stat.npy / iscell.npy as suite2p writes them (numpy object array of dicts)."""
    folder.mkdir(parents=True, exist_ok=True)
    stat = np.empty(len(masks), dtype=object)
    for i, mask in enumerate(masks):
        ypix, xpix = np.nonzero(mask)
        stat[i] = {"ypix": ypix, "xpix": xpix, "lam": np.full(len(ypix), 1.0 / len(ypix)),
                   "npix": len(ypix), "med": [float(np.median(ypix)), float(np.median(xpix))]}
    np.save(folder / "stat.npy", stat, allow_pickle=True)
    np.save(folder / "iscell.npy", np.array([[float(c), float(c)] for c in iscell]))
    return folder


def _imagej_zip(path, masks, groups=None):
    """An ImageJ RoiSet zip of polygons around each mask (roifile)."""
    import roifile

    rois = []
    for i, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        points = np.array([[xs.min(), ys.min()], [xs.max() + 1, ys.min()],
                           [xs.max() + 1, ys.max() + 1], [xs.min(), ys.max() + 1]], float)
        roi = roifile.ImagejRoi.frompoints(points, name=f"roi-{i}")
        roi.roitype = roifile.ROI_TYPE.POLYGON
        if groups is not None:
            roi.group = groups[i]
        rois.append(roi)
    roifile.roiwrite(path, rois, mode="w")
    return path


def _caiman_file(path, footprints, dims, idx_components=None):
    """A CNMF HDF5 in the layout of CaImAn's cnmf.save (A as a CSC group, Fortran order)."""
    import h5py
    from scipy import sparse

    a = sparse.csc_matrix(np.stack([f.ravel(order="F") for f in footprints], axis=1))
    with h5py.File(path, "w") as file:
        file["dims"] = np.array(dims)
        for name in ("data", "indptr", "indices"):
            file[f"estimates/A/{name}"] = getattr(a, name)
        file["estimates/A/shape"] = a.shape
        file["estimates/idx_components"] = (
            "NoneType" if idx_components is None else np.asarray(idx_components))
    return path


@pytest.mark.parametrize("kind", ["suite2p", "imagej", "caiman"])
def test_start_from_a_file_then_commit_it(dock, qtbot, pipeline, tmp_path, kind):
    shape = dock.model.shape
    masks = np.stack([_disk(shape, (14, 14), 4), _disk(shape, (40, 30), 5),
                      _disk(shape, (20, 48), 3)])
    if kind == "suite2p":
        path = _suite2p_folder(tmp_path / "plane0", masks, [1, 0, 1])
        labels = ("cell", "not cell", "cell")
    elif kind == "imagej":
        path = _imagej_zip(tmp_path / "RoiSet.zip", masks, groups=[1, 2, 3])
        labels = ("cell", "not cell", "unsure")
    else:
        path = _caiman_file(tmp_path / "cnmf.hdf5", masks.astype(float), shape, [0, 2])
        labels = ("cell", "not cell", "cell")
    with qtbot.waitSignal(dock.changed, timeout=TIMEOUT):
        dock.import_rois(kind, str(path))
    rois = dock.model.rois
    assert len(rois) == 3 and rois.labels == labels
    assert rois.origins == ("imported",) * 3
    assert dock.table.model.rowCount() == 3
    np.testing.assert_array_equal(np.asarray(dock.layer.data), rois.label_image())
    assert dock.start_box.currentText() == f"{kind} file (imported)"
    key = _commit(qtbot, dock, "ada")
    assert (pipeline.Curation & key).fetch1("parent_kind") == kind
    stored = (pipeline.Curation.Mask & key).to_dicts(order_by="roi_id")
    assert [r["origin"] for r in stored] == ["imported"] * 3
    assert [r["label"] for r in stored] == list(labels)
    assert len(pipeline.CuratedTrace & key) == 3


@pytest.mark.parametrize("kind", ["suite2p", "imagej", "caiman"])
def test_a_file_of_another_frame_size_is_refused(dock, qtbot, tmp_path, kind):
    before = _state(dock)
    big = (dock.model.shape[0] * 2, dock.model.shape[1] * 2)
    masks = np.stack([_disk(big, (100, 100), 5)])
    if kind == "suite2p":
        path = _suite2p_folder(tmp_path / "plane0", masks, [1])
        np.save(tmp_path / "plane0" / "ops.npy", {"Ly": big[0], "Lx": big[1]}, allow_pickle=True)
    elif kind == "imagej":
        path = _imagej_zip(tmp_path / "RoiSet.zip", masks)
    else:
        path = _caiman_file(tmp_path / "cnmf.hdf5", masks.astype(float), big)
    with qtbot.waitSignal(dock.failed, timeout=TIMEOUT) as failed:
        dock.import_rois(kind, str(path))
    text = failed.args[0]
    assert str(path) in text and str(dock.model.shape[0]) in text, text
    assert dock.message.isVisible() and dock.message.text() == text
    assert _state(dock) == before and dock.model.inputs.parent_kind == "detected"


def test_export_suite2p_and_imagej_read_back(dock, qtbot, tmp_path):
    import roifile

    from napari_photon import curation

    dock.select([0])
    _trigger(qtbot, dock, "reject", "button")
    rois = dock.model.rois
    dock.export_rois("suite2p", str(tmp_path / "out"))
    stat = np.load(tmp_path / "out" / "stat.npy", allow_pickle=True)
    iscell = np.load(tmp_path / "out" / "iscell.npy")
    assert len(stat) == len(rois) and iscell[0, 0] == 0 and iscell[1:, 0].all()
    for i, item in enumerate(stat):
        mask = np.zeros(rois.shape, bool)
        mask[item["ypix"], item["xpix"]] = True
        np.testing.assert_array_equal(mask, rois.mask(i))
    assert "Wrote" in dock.message.text()
    dock.export_rois("imagej", str(tmp_path / "RoiSet.zip"))
    assert len(roifile.roiread(tmp_path / "RoiSet.zip")) == len(rois)
    back = curation.read_imagej(tmp_path / "RoiSet.zip", rois.shape)
    assert back.labels == rois.labels
    np.testing.assert_array_equal(back.label_image() > 0, rois.label_image() > 0)


# -- suggestions -------------------------------------------------------------------------------
def test_suggest_learns_from_committed_curations_and_accepts_above_p(dock, qtbot, pipeline):
    import json

    areas = np.asarray(dock.model.rois.areas)
    small = [int(i) for i in np.argsort(areas)[: max(2, len(areas) // 3)]]
    keys = []
    dock.select(small)
    _trigger(qtbot, dock, "reject", "button")
    for curator in ("ada", "grace"):  # two versions: the small ROIs are not cells
        keys.append(_commit(qtbot, dock, curator))
    with qtbot.waitSignal(dock.loaded, timeout=TIMEOUT):
        dock.start_from(None)  # the detected set again: every ROI a cell
    assert set(dock.model.rois.labels) == {"cell"}

    errors = []
    dock.failed.connect(errors.append)
    dock.suggestions.suggest_button.click()
    qtbot.waitUntil(lambda: dock.model.probability is not None or bool(errors), timeout=TIMEOUT)
    assert not errors, errors
    qtbot.waitUntil(lambda: not dock.busy, timeout=TIMEOUT)
    model = dock.model
    p = model.probability
    assert p.shape == (len(areas),) and ((p >= 0) & (p <= 1)).all()
    mine = [{k: str(v) for k, v in key.items()} for key in keys]
    assert all(key in model.trained_on for key in mine)
    assert "probability" in dock.table.model.names
    np.testing.assert_allclose(dock.table.model.columns["probability"], p)
    stored = json.loads(model.trained_on_path().read_text())
    assert stored["trained_on"] == model.trained_on
    assert "2 curation" in dock.suggestions.status.text() or len(model.trained_on) > 2
    # the small ROIs it learnt were not cells get lower probabilities than the others
    big = [i for i in range(len(areas)) if i not in small]
    assert p[small].mean() < p[big].mean()

    threshold = float(np.median(p))
    dock.select(list(range(len(areas))))
    _trigger(qtbot, dock, "reject", "button")
    assert dock.model.probability is not None  # labels changed, not the ROIs
    before = _state(dock)
    dock.suggestions.p.setValue(threshold)
    with qtbot.waitSignal(dock.changed, timeout=TIMEOUT):
        dock.suggestions.accept_button.click()
    labels = np.array(dock.model.rois.labels)
    above = p > dock.suggestions.p.value()
    assert above.any() and (labels[above] == "cell").all() and (labels[~above] == "not cell").all()
    _trigger(qtbot, dock, "undo", "button")  # one action
    assert _state(dock) == before


# -- screenshots for the docs ------------------------------------------------------------------
def test_screenshots_of_the_dock_and_a_merge(make_napari_viewer, qtbot, pipeline):
    from conftest import SCREENSHOTS
    from test_widget_screenshot import _check_pixels

    session = new_mouse(pipeline, frames=120, size=160, neurons=30, radius=(5.0, 7.0), seed=21)
    key = {**session, "recording_num": 1}
    pipeline.populate(key, tables=(pipeline.MotionCorrected, pipeline.ROI, pipeline.Trace))
    viewer = make_napari_viewer(show=True, title="napari-photon")
    viewer.window.resize(1600, 1000)
    _, dock = viewer.window.add_plugin_dock_widget("napari-photon", "Curate ROIs")
    with qtbot.waitSignal(dock.loaded, timeout=TIMEOUT):
        _open(viewer, pipeline, key)
    qtbot.waitUntil(lambda: not dock.busy, timeout=TIMEOUT)
    rois = dock.model.rois
    centroids = np.array([np.argwhere(rois.mask(i)).mean(axis=0) for i in range(len(rois))])
    distances = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    first, second = (int(i) for i in np.unravel_index(np.argmin(distances), distances.shape))
    with qtbot.waitSignal(dock.tracesShown, timeout=TIMEOUT):
        dock.select([first])
    viewer.dims.set_current_step(0, 60)
    viewer.reset_view()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(SCREENSHOTS / "curate.png"), canvas_only=False, flash=False)
    _check_pixels(SCREENSHOTS / "curate.png")

    # a merge of the two closest ROIs, zoomed on them
    for layer in viewer.layers:
        if layer.metadata["napari_photon"]["role"] in ("draw", "line"):
            layer.visible = False
    pair = centroids[[first, second]]
    span = float(np.abs(pair[0] - pair[1]).max()) + 24.0
    viewer.camera.center = tuple(pair.mean(axis=0))
    viewer.camera.zoom = min(viewer.window._qt_viewer.canvas.size) / span
    dock.color_box.setCurrentText("compactness")  # the merged ROI stands out (less compact)
    with qtbot.waitSignal(dock.tracesShown, timeout=TIMEOUT):
        dock.select([first, second])
    viewer.screenshot(str(SCREENSHOTS / "curate_merge_before.png"), canvas_only=False, flash=False)
    _trigger(qtbot, dock, "merge", "button")
    qtbot.waitUntil(lambda: not dock.busy, timeout=TIMEOUT)
    assert len(dock.model.rois) == len(rois) - 1 and "merged" in dock.model.rois.origins
    viewer.screenshot(str(SCREENSHOTS / "curate_merge_after.png"), canvas_only=False, flash=False)
    for name in ("curate_merge_before.png", "curate_merge_after.png"):
        _check_pixels(SCREENSHOTS / name)
