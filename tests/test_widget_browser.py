"""The pipeline browser dock on the embedded pipeline: connect, filter, open, errors."""

from __future__ import annotations

import socket

import dask.array as da
import pytest
from test_browse_tree import new_mouse
from test_viewer_layers import ReadCounter

TIMEOUT = 60_000


def _chunk_bytes(movie) -> int:
    folder = movie.location.local_path
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and f.name != "zarr.json")


@pytest.fixture
def browser(make_napari_viewer, qtbot, pipeline):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-photon", "Pipeline browser")
    yield widget
    qtbot.waitUntil(lambda: not widget.busy, timeout=TIMEOUT)


def _connect(qtbot, browser):
    with qtbot.waitSignal(browser.treeLoaded, timeout=TIMEOUT):
        browser.connection.default_button.click()
        assert browser.connection.busy  # the click returned at once: connecting in a worker
    assert browser.connection.status.text().startswith("Connected: embedded PostgreSQL")


def _filter(qtbot, browser, text):
    browser.filter_edit.clear()
    with qtbot.waitSignal(browser.treeLoaded, timeout=TIMEOUT) as blocker:
        qtbot.keyClicks(browser.filter_edit, text)  # typing: debounced reload
    return blocker.args[0]


def test_connect_browse_filter_and_open(browser, qtbot, pipeline, monkeypatch):
    done = new_mouse(
        pipeline,
        recordings=2,
        frames=80,
        size=64,
        neurons=6,
        radius=(4.0, 5.0),
        populate=(pipeline.MotionCorrected, pipeline.ROI),
        frames_per_shard=10,
        seed=11,
    )
    other = new_mouse(pipeline, volume=True)
    _connect(qtbot, browser)
    assert browser.schema_box.currentData() == pipeline.database  # preselected
    assert browser.schema is not None and browser.schema.is_pipeline

    assert _filter(qtbot, browser, f"{done['mouse_id']}") == 2
    texts = [
        [item.text(c) for c in range(browser.tree.columnCount())] for item in browser.tree.items()
    ]
    assert texts[0][0] == f"mouse_id {done['mouse_id']}  (C57BL/6J)"
    assert texts[2][:4] == ["#1  r01.tif", "80 x 64 x 64", "yes", texts[2][3]]
    assert texts[2][3].isdigit() and texts[2][4] == "-" and texts[2][5] == "-"  # no curation
    both = f"mouse_id={done['mouse_id']}|{other['mouse_id']} recording_num=2"
    assert _filter(qtbot, browser, both) == 2
    assert {n.kind for n in browser.tree.openable()} == {"recording", "volume"}
    browser.filter_edit.clear()
    qtbot.keyClicks(browser.filter_edit, "cage=4")  # not an attribute: a message, same tree
    qtbot.waitUntil(lambda: "unknown attribute 'cage'" in browser.filter_message.text())
    assert not browser.filter_message.isHidden() and len(browser.tree.openable()) == 2
    assert _filter(qtbot, browser, str(done["mouse_id"])) == 2
    assert browser.filter_message.isHidden()

    first = browser.tree.openable()[0]
    assert first.key["recording_num"] == 1
    reads = ReadCounter(monkeypatch)
    with qtbot.waitSignal(browser.recordingOpened, timeout=TIMEOUT) as blocker:
        item = browser.tree.item_for(first)
        browser.tree.itemDoubleClicked.emit(item, 0)
    layers = blocker.args[0]
    viewer = browser.viewer
    assert [layer.name.rsplit(" ", 1)[-1] for layer in viewer.layers][:2] == [
        "(stabilized)",
        "corrected",
    ]
    raw, corrected = viewer.layers[0], viewer.layers[1]
    assert isinstance(raw.data, da.Array) and isinstance(corrected.data, da.Array)
    assert raw.data.shape == (80, 64, 64) and raw.data.chunksize[0] == 1
    labels = viewer.layers[-1]
    n_rois = (pipeline.ROI & first.key).fetch1("n_rois")
    assert labels.__class__.__name__ == "Labels" and labels.data.max() == n_rois >= 1
    for layer in layers:
        assert layer.metadata["key"] == first.key
    movie = (pipeline.Recording & first.key).fetch1("raw_movie")
    fixed = (pipeline.MotionCorrected & first.key).fetch1("corrected_movie")
    total = _chunk_bytes(movie) + _chunk_bytes(fixed)
    frame = 64 * 64  # uint8 codes; stored frames are compressed further
    assert 0 < reads.nbytes < 8 * frame < 0.1 * total, (reads.nbytes, total)

    # photon counts on a toggle, swapped lazily
    browser.photons_box.setChecked(True)
    qtbot.waitUntil(
        lambda: corrected.metadata["napari_photon"]["display"] == "photons", timeout=TIMEOUT
    )
    assert isinstance(corrected.data, da.Array)
    assert corrected.contrast_limits[1] > corrected.contrast_limits[0]

    # a 4D volume opens with a z slider (alone: napari aligns the last axes of all layers)
    viewer.layers.clear()
    _filter(qtbot, browser, str(other["mouse_id"]))
    volume = next(n for n in browser.tree.openable() if n.kind == "volume")
    browser.photons_box.setChecked(False)
    qtbot.waitUntil(lambda: not browser.busy, timeout=TIMEOUT)
    with qtbot.waitSignal(browser.recordingOpened, timeout=TIMEOUT) as blocker:
        browser.tree.clearSelection()
        browser.tree.item_for(volume).setSelected(True)
        browser.open_button.click()
    (layer,) = blocker.args[0]
    assert layer.data.shape == (6, 3, 32, 32)
    assert viewer.dims.axis_labels[-4:] == ("t", "z", "y", "x")
    assert viewer.dims.nsteps[-3] == 3  # the z slider


def test_status_reloads_when_another_dock_stores(browser, qtbot, pipeline):
    from napari_photon._widgets._changes import pipeline_changes

    mouse = new_mouse(pipeline, frames=40, size=48)
    _connect(qtbot, browser)
    assert _filter(qtbot, browser, str(mouse["mouse_id"])) == 1

    def corrected_column() -> str:
        return [item.text(2) for item in browser.tree.items()][-1]  # the Motion column

    assert corrected_column() == "-"
    pipeline.MotionCorrected.populate({"mouse_id": mouse["mouse_id"]})
    assert corrected_column() == "-"  # the tree shows what was loaded
    with qtbot.waitSignal(browser.treeLoaded, timeout=TIMEOUT):
        pipeline_changes().changed.emit(pipeline.database, None)
    assert corrected_column() == "yes"


def test_connection_error_is_a_message(browser, qtbot, monkeypatch):
    from napari.utils import notifications

    shown = []
    monkeypatch.setattr(notifications, "show_error", shown.append)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    browser.connection.set_server(
        backend="postgresql", host="127.0.0.1", port=port, user="alice", password="hunter2-pw"
    )
    assert browser.connection.form.password.native.echoMode().name == "Password"
    with qtbot.waitSignal(browser.connection.failed, timeout=TIMEOUT) as blocker:
        browser.connection.server_button.click()
    message = blocker.args[0]
    assert message.startswith(f"Could not connect to the postgresql server alice@127.0.0.1:{port}")
    assert "hunter2-pw" not in message
    assert (
        browser.connection.message.text() == message and not browser.connection.message.isHidden()
    )
    assert shown == [message]  # a napari notification, no traceback dialog
    assert browser.connection.status.text() == "Not connected"
    assert browser.connection.server_button.isEnabled()


def test_save_settings_only_on_request(browser, tmp_path):
    browser.connection.set_server(host="db.example.org", port=5433, user="alice", password="pw-1")
    browser.connection.save_folder.value = str(tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written by filling the form
    browser.connection.save_button.click()
    assert (tmp_path / "datajoint.json").exists()
    assert not (tmp_path / ".secrets" / "database.password").exists()
    assert "pw-1" not in (tmp_path / "datajoint.json").read_text()
    browser.connection.save_password.value = True
    browser.connection.save_button.click()
    assert (tmp_path / ".secrets" / "database.password").read_text() == "pw-1"
