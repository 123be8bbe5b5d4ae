"""The Populate dock in a real napari viewer (pytest-qt + napari's ``make_napari_viewer``).

pytest-xvfb provides the display; nothing here sleeps: waits are on Qt signals
(``qtbot.waitSignal``) or conditions (``qtbot.waitUntil``).
"""

from __future__ import annotations

import contextvars
import itertools
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SCREENSHOTS, tiff_session, zarr_folders
from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QWidget

from napari_photon import synthetic

pytestmark = pytest.mark.gui

SCREENSHOT = SCREENSHOTS / "populate.png"
RUN_TIMEOUT_MS = 180_000

# The UI thread must never be blocked for more than 100 ms during a populate (issue #4).
# On the 2-core CI machines, shared with other jobs, timer ticks are also delayed by the
# scheduler and by Xvfb/llvmpipe repaints that have nothing to do with the dock; the test
# asserts the 100 ms target with that margin on top and prints the measured figure.
UI_BLOCK_TARGET_MS = 100.0
UI_BLOCK_CI_MARGIN_MS = 100.0


# The movie of test_pipeline's design-document test, in which ROI detection finds ROIs
# (a key with zero ROIs cannot make its Trace); the small default is for import tests.
DESIGN = {"n_frames": 150, "shape": (96, 96), "n_neurons": 8, "max_shift": 3, "seed": 4}


def new_session(pipeline, n_files: int = 1, **movie) -> dict:
    """A session with ``n_files`` small TIFF stacks (see ``conftest.tiff_session``)."""
    key = tiff_session(pipeline, "W", n_files, **movie)
    return key


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer(show=True)


@pytest.fixture
def dock(viewer, pipeline, qtbot):
    from napari_photon._widgets._populate_dock import PopulateDock

    widget = PopulateDock(viewer)
    viewer.window.add_dock_widget(widget, name="Populate", area="right")
    qtbot.waitUntil(
        lambda: not widget.busy and (widget.loaded or widget.last_error is not None),
        timeout=60_000,
    )
    assert widget.last_error is None, widget.last_error
    yield widget
    qtbot.waitUntil(lambda: not widget.busy, timeout=RUN_TIMEOUT_MS)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def run_from(qtbot, dock, button, events: list | None = None):
    """Click ``button``, wait until the run and the reload after it are over; return the
    run's last event."""
    if events is not None:
        dock.event_received.connect(events.append)
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        click(qtbot, button)
    qtbot.waitUntil(lambda: not dock.busy, timeout=60_000)  # the reload of the counts
    if events is not None:
        dock.event_received.disconnect(events.append)
    return blocker.args[0]


def test_dock_opens_through_the_manifest(make_napari_viewer, pipeline, qtbot):
    import npe2

    viewer = make_napari_viewer()
    manifest = npe2.PluginManager.instance().get_manifest("napari-photon")
    names = [w.display_name for w in (manifest.contributions.widgets or [])]
    assert "Populate" in names, names
    _, widget = viewer.window.add_plugin_dock_widget("napari-photon", "Populate")
    assert type(widget).__name__ == "PopulateDock"
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)


def test_counts_update_and_populate_one_table(dock, pipeline, qtbot):
    before = dock.counts.counts("Recording")
    key = new_session(pipeline, n_files=2)
    with qtbot.waitSignal(dock.refreshed, timeout=60_000):
        click(qtbot, dock.refresh_button)
    listed = dock.counts.counts("Recording")
    assert listed.total == before.total + 1 and listed.pending == before.pending + 1
    assert dock.counts.rows["Recording"].pending.text() == str(listed.pending)

    from napari.utils import cancelable_progress, progress

    seen_in_activity: list[int] = []
    events: list = []

    def watch_activity(event):  # napari's activity panel lists every open progress object
        bars = [p for p in progress._all_instances if isinstance(p, cancelable_progress)]
        seen_in_activity.append(len(bars))

    dock.event_received.connect(watch_activity)
    last = run_from(qtbot, dock, dock.counts.rows["Recording"].button, events)
    assert last is not None and not last.cancelled and last.n_done >= 1
    # frame-level progress inside the key reached the dock, and the bar reached 100 %
    stages = [e for e in events if e.kind == "stage"]
    assert {"import a.tif", "import b.tif"} <= {e.stage for e in stages}
    assert any(0 < e.fraction < 1 for e in stages)
    assert dock.progress.run_bar.value() == dock.progress.run_bar.maximum()
    assert dock.progress.activity_final == (1000, 1000)  # napari's activity-panel bar
    assert seen_in_activity and min(seen_in_activity) == max(seen_in_activity) == 1
    assert not [p for p in progress._all_instances if isinstance(p, cancelable_progress)]
    # the counts were reloaded and agree with the database
    assert len(pipeline.Recording & key) == 2
    shown = dock.counts.counts("Recording")
    assert shown == pipeline.table_counts(pipeline.Recording)
    assert shown.done >= listed.done + 1
    assert dock.counts.rows["Recording"].done.text() == str(shown.done)
    assert "Finished" in dock.progress.run_label.text()


def test_populate_all_from_the_dock(dock, pipeline, qtbot):
    key = new_session(pipeline, **DESIGN)
    events: list = []
    last = run_from(qtbot, dock, dock.populate_all_button, events)
    assert last is not None and not last.cancelled and last.fraction == 1.0
    started = [e.table for e in events if e.kind == "table-started"]
    assert started == [t.__name__ for t in pipeline.computed]
    stage_tables = {e.table for e in events if e.kind == "stage"}
    assert {"Recording", "MotionCorrected", "ROI", "Trace"} <= stage_tables
    backwards = [(a, b) for a, b in itertools.pairwise(events) if b.fraction < a.fraction]
    assert not backwards, [(a.kind, b.kind, a.fraction, b.fraction) for a, b in backwards]
    assert dock.progress.run_bar.value() == dock.progress.run_bar.maximum()
    assert dock.progress.activity_final == (1000, 1000)
    assert len(pipeline.Trace & key) >= 1
    for table in ("Recording", "MotionCorrected", "ROI", "Trace"):
        shown = dock.counts.counts(table)
        assert shown == pipeline.table_counts(getattr(pipeline, table)), table
        mine = pipeline.table_counts(getattr(pipeline, table), key)
        assert mine.done == mine.total >= 1, mine


def test_cancel_mid_run_leaves_no_partial_row_or_zarr(
    dock, pipeline, store_root, qtbot, monkeypatch
):
    """Cancel while MotionCorrected writes its zarr, several chunks into it."""
    from napari_photon.storage import WriteOptions, _options

    assert dock.separate_process  # the keys are made in a child process
    # small shards (4 frames of 64 x 64 float32), so writes report many chunks; the child
    # process is given the write options of the run's caller
    small_shards = WriteOptions(chunk_budget=4 * 4 * 64 * 64)
    monkeypatch.setattr(_options, "_current", contextvars.ContextVar("test", default=small_shards))
    key = new_session(pipeline, n_frames=80, shape=(64, 64))
    pipeline.Recording.populate(key)
    mine = {"mouse_id": key["mouse_id"]}
    before = zarr_folders(store_root)

    # The child waits after each event until the parent asks for the next one. Hold the
    # relay after the first chunk of the corrected movie was written, until Cancel was
    # clicked in the GUI thread: the click then lands deterministically in the middle of
    # the write, seen by the child at its next chunk check.
    written, clicked = threading.Event(), threading.Event()
    run_populate = pipeline.run_populate

    def held_run(*args, **kwargs):
        for event in run_populate(*args, **kwargs):
            yield event
            first_write = event.kind == "stage" and event.stage == "motion correction"
            if first_write and not written.is_set():
                written.set()
                assert clicked.wait(60), "the test never clicked Cancel"

    monkeypatch.setattr(pipeline, "run_populate", held_run)

    def click_cancel_once_written():  # GUI thread
        if written.is_set() and not clicked.is_set():
            click(qtbot, dock.cancel_button)
            clicked.set()

    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(click_cancel_once_written)
    poll.start()
    writes: list = []

    def on_event(event):
        if event.kind == "stage" and event.stage == "motion correction":
            writes.append((event.done, event.total))

    dock.event_received.connect(on_event)
    try:
        last = run_from(qtbot, dock, dock.counts.rows["MotionCorrected"].button)
    finally:
        poll.stop()
    assert clicked.is_set()
    assert last is not None and last.cancelled and last.fraction < 1.0
    # the write had started (one shard of 4 frames written) and stopped right there
    assert len(writes) == 1 and writes[0][0] == 4 < writes[0][1]
    assert "Cancelled" in dock.progress.run_label.text()
    assert len(pipeline.MotionCorrected & mine) == 0
    assert zarr_folders(store_root) == before
    counts = pipeline.table_counts(pipeline.MotionCorrected, mine)
    assert (counts.done, counts.pending, counts.error, counts.reserved) == (0, 1, 0, 0)
    assert not [f for f in dock.failures.failures if f.key.get("mouse_id") == key["mouse_id"]]


def test_failing_key_shows_its_error_and_retry_works(dock, pipeline, store_root, qtbot):
    key = new_session(pipeline)
    folder = pipeline.session_folder(key)
    (folder / "b.tif").write_bytes(b"II*\x00 this is not a tiff")
    before = zarr_folders(store_root)
    last = run_from(qtbot, dock, dock.counts.rows["Recording"].button)
    assert last is not None and last.n_errors >= 1
    assert zarr_folders(store_root) == before

    mine = [i for i, f in enumerate(dock.failures.failures) if f.key["mouse_id"] == key["mouse_id"]]
    assert len(mine) == 1
    failure = dock.failures.failures[mine[0]]
    assert failure.table == "Recording" and "not a readable TIFF" in failure.message
    item = dock.failures.tree.topLevelItem(mine[0])
    assert item.text(0) == "Recording" and f"mouse_id={key['mouse_id']}" in item.text(1)
    assert "not a readable TIFF" in dock.failures.error_text(mine[0])
    assert dock.counts.counts("Recording").error >= 1
    assert dock.counts.rows["Recording"].error.text() == str(dock.counts.counts("Recording").error)

    # fix the file, select the failed key, Retry
    movie = synthetic.make_movie(n_frames=20, shape=(48, 48), n_neurons=2, seed=3).movie
    synthetic.write_tiff(folder / "b.tif", movie)
    dock.failures.tree.clearSelection()
    item.child(0).setSelected(True)  # the error line selects its key
    assert dock.failures.selected() == [failure]
    last = run_from(qtbot, dock, dock.failures.retry_button)
    assert last is not None and last.n_done == 1 and last.n_errors == 0
    assert len(pipeline.Recording & key) == 2
    assert not [f for f in dock.failures.failures if f.key["mouse_id"] == key["mouse_id"]]


class _PaintCounter(QObject):
    """Counts the paint and move events each watched widget receives."""

    def __init__(self, widgets) -> None:
        super().__init__()
        self.paints = {w: 0 for w in widgets}
        self.moves = dict(self.paints)
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched in self.paints:
            if event.type() == QEvent.Type.Paint:
                self.paints[watched] += 1
            elif event.type() == QEvent.Type.Move:
                self.moves[watched] += 1
        return False


def test_a_progress_batch_repaints_the_bars_not_the_whole_dock(dock, viewer, qtbot):
    """Every repaint composes the whole window through OpenGL (software-rendered on
    virtual machines): a batch of progress events repaints the run's bars and labels,
    not the counts table, its buttons or the failures list."""
    from napari_photon.pipeline import PopulateEvent

    qtbot.waitExposed(viewer.window._qt_window)
    bars = (dock.progress.run_bar, dock.progress.stage_bar)
    others = (*dock.counts.findChildren(QWidget), dock.populate_all_button, dock.failures)
    counter = _PaintCounter((*bars, *others))

    def batch_shown(_event) -> None:  # counted from here: the batch paints after it
        counter.paints = dict.fromkeys(counter.paints, 0)

    dock.event_received.connect(batch_shown)
    dock._on_event(PopulateEvent("stage", fraction=0.4, table="MotionCorrected",
                                 stage="motion correction", done=37, total=100))
    qtbot.waitUntil(lambda: all(counter.paints[bar] for bar in bars), timeout=5_000)
    dock.event_received.disconnect(batch_shown)
    assert dock.progress.stage_bar.value() == 37
    assert dock.progress.run_bar.value() == 400
    repainted = [type(w).__name__ for w in others if counter.paints[w]]
    assert not repainted, f"repainted by a progress batch: {repainted}"
    dock.layout().activate()  # a layout change the new texts asked for happens now
    moved = [type(w).__name__ for w in others if counter.moves[w]]
    assert not moved, f"moved by the new texts: {moved}"


def test_ui_thread_never_blocked_during_populate(dock, pipeline, qtbot):
    """A 10 ms QTimer ticks all along a populate-all run started from the dock."""
    new_session(pipeline, n_files=2, **DESIGN)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    n_events: list[int] = []
    dock.event_received.connect(lambda e: n_events.append(1))
    timer.start()
    try:
        last = run_from(qtbot, dock, dock.populate_all_button)
    finally:
        timer.stop()
    assert last is not None and not last.cancelled and last.n_done >= 4
    gaps_ms = np.diff(ticks) * 1000.0
    worst = float(gaps_ms.max())
    print(
        f"\nUI watchdog: {len(ticks)} ticks over {ticks[-1] - ticks[0]:.1f} s, "
        f"{len(n_events)} populate events handled; "
        f"gap median {statistics.median(gaps_ms):.1f} ms, p99 {np.percentile(gaps_ms, 99):.1f} ms, "
        f"max {worst:.1f} ms (target {UI_BLOCK_TARGET_MS:.0f} ms)"
    )
    assert worst < UI_BLOCK_TARGET_MS + UI_BLOCK_CI_MARGIN_MS


def test_screenshot_of_the_window_with_the_dock(dock, viewer, pipeline, qtbot):
    """docs/images/populate.png: napari with a populated recording open and the dock,
    after a populate-all run in which one session's corrupt TIFF failed."""
    from napari_photon._viewer_layers import add_recording_layers

    good = new_session(pipeline, **DESIGN)
    bad = new_session(pipeline)
    (pipeline.session_folder(bad) / "b.tif").write_bytes(b"II*\x00 this is not a tiff")
    last = run_from(qtbot, dock, dock.populate_all_button)
    assert last is not None and last.n_errors >= 1
    recording = (pipeline.Recording & good).keys()[0]
    add_recording_layers(
        viewer,
        (pipeline.Recording & recording).fetch1("raw_movie"),
        corrected=(pipeline.MotionCorrected & recording).fetch1("corrected_movie"),
        masks=(pipeline.ROI & recording).fetch1("roi_masks"),
        key=recording,
        name=good["mouse_id"],
    )
    viewer.window.resize(1600, 1000)
    qtbot.waitUntil(lambda: not dock.busy)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    image = viewer.screenshot(str(SCREENSHOT), canvas_only=False)
    assert SCREENSHOT.exists()
    pixels = np.asarray(image)[..., :3].astype(float)
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 1000
    assert pixels.std() > 20  # not blank
    assert (pixels.max(axis=-1) > 30).mean() > 0.2  # not black
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500  # widgets + movie, not flat
