"""Screenshots of the whole window with the docks and an opened recording, for the docs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import SCREENSHOTS
from test_browse_tree import new_mouse

IMAGES = SCREENSHOTS
TIMEOUT = 120_000


def _check_pixels(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    image = iio.imread(path)
    assert image.ndim == 3 and image.shape[0] > 600 and image.shape[1] > 1000, image.shape
    gray = image[..., :3].astype(np.float64).mean(axis=-1)
    assert gray.std() > 10, "flat screenshot"
    assert (gray > 20).mean() > 0.05, "black screenshot"
    return image


def test_window_with_docks_and_recording(make_napari_viewer, qtbot, pipeline):
    session = new_mouse(
        pipeline,
        frames=120,
        size=160,
        neurons=30,
        radius=(5.0, 7.0),
        seed=21,
        populate=(pipeline.MotionCorrected, pipeline.ROI),
    )
    viewer = make_napari_viewer(show=True, title="napari-photon")
    viewer.window.resize(1600, 1000)
    _, browser = viewer.window.add_plugin_dock_widget("napari-photon", "Pipeline browser")
    _, process = viewer.window.add_plugin_dock_widget("napari-photon", "Process recording")

    with qtbot.waitSignal(browser.treeLoaded, timeout=TIMEOUT):
        browser.connection.default_button.click()
    with qtbot.waitSignal(browser.treeLoaded, timeout=TIMEOUT):
        browser.filter_edit.setText(str(session["mouse_id"]))
        browser.refresh()
    (node,) = browser.tree.openable()
    browser.tree.item_for(node).setSelected(True)
    opened: list = []
    errors: list = []
    browser.recordingOpened.connect(opened.append)
    browser.errorShown.connect(errors.append)
    assert browser.tree.selected_nodes() == [node]
    # the button is disabled while the dock still loads (statuses after the tree)
    qtbot.waitUntil(browser.open_button.isEnabled, timeout=TIMEOUT)
    browser.open_button.click()
    qtbot.waitUntil(lambda: bool(opened or errors), timeout=TIMEOUT)
    assert not errors, errors
    qtbot.waitUntil(lambda: process.recording is not None and not process.busy, timeout=TIMEOUT)
    # the parameter form is filled and laid out
    qtbot.waitUntil(
        lambda: len(process.form) > 3 and all(w.native.isVisible() for w in process.form)
    )
    viewer.dims.set_current_step(0, 60)
    viewer.reset_view()
    qtbot.waitUntil(lambda: not browser.busy, timeout=TIMEOUT)

    canvas = viewer.screenshot(canvas_only=True, flash=False)
    assert canvas[..., :3].mean(axis=-1).std() > 10, "the canvas rendered flat: no OpenGL?"
    IMAGES.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(IMAGES / "browser.png"), canvas_only=False, flash=False)
    _check_pixels(IMAGES / "browser.png")

    # the process dock after an ROI-detection preview with edited parameters
    with qtbot.waitSignal(process.choicesLoaded, timeout=TIMEOUT):
        process.select(node.key, "rois")
    process.form.threshold.value = "5.0"
    with qtbot.waitSignal(process.previewed, timeout=TIMEOUT):
        process.preview_button.click()
    for layer in viewer.layers:
        if layer.metadata["napari_photon"]["role"] == "rois":
            layer.visible = False  # the stored ROIs; show the preview's
    viewer.screenshot(str(IMAGES / "process.png"), canvas_only=False, flash=False)
    _check_pixels(IMAGES / "process.png")
