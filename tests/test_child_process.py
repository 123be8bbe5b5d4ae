"""``napari_photon.pipeline._child_process``: populate in a child process, events relayed.

The same populate runs in a thread and in a child process on identical movies and must
store identical results; cancel, close, failure, retry and a killed child are exercised on
the real embedded server and file store.
"""

from __future__ import annotations

import os

import numpy as np
import psutil
import pytest
from conftest import tiff_session, zarr_folders

from napari_photon import synthetic
from napari_photon.pipeline import PopulateProcessError
from napari_photon.storage import write_options

DATE = "2026-11-25"
DESIGN = {"n_frames": 150, "shape": (96, 96), "n_neurons": 8, "max_shift": 3, "seed": 4}


def new_session(pipeline, n_files: int = 1, **movie) -> dict:
    key = tiff_session(pipeline, "C", n_files, **movie)
    return {"mouse_id": key["mouse_id"]}


def child_processes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children() if "_child_process" in " ".join(p.cmdline())]


def test_child_process_stores_what_a_thread_run_stores(pipeline):
    in_thread, in_child = new_session(pipeline, **DESIGN), new_session(pipeline, **DESIGN)
    thread_events = list(pipeline.run_populate(in_thread))
    child_events, children = [], []
    for event in pipeline.run_populate(in_child, separate_process=True, niceness=5):
        child_events.append(event)
        if event.kind == "key-started":
            children.append(
                [
                    (p.pid, {os.getpriority(os.PRIO_PROCESS, t.id) for t in p.threads()})
                    for p in child_processes()
                ]
            )
    assert children and all(len(found) == 1 for found in children)
    assert len({found[0][0] for found in children}) == 1  # one child made every key of the run
    pid, nice = children[-1][0]  # every thread of the child, BLAS's and pools' included
    assert pid != os.getpid() and nice == {min(os.nice(0) + 5, 19)}
    assert not child_processes()  # and it is gone once the run finished

    def shape_of(events):
        return [(e.kind, e.table, e.status, e.stage) for e in events]

    assert shape_of(child_events) == shape_of(thread_events)
    assert child_events[-1].fraction == 1.0 and child_events[-1].n_done == thread_events[-1].n_done

    def results(key):
        corrected = (pipeline.MotionCorrected & key).fetch1()
        masks = (pipeline.ROI & key).fetch1("roi_masks")
        rows = (pipeline.Trace & key).to_dicts(order_by="roi_id")
        return corrected, masks, [r["fluorescence"] for r in rows]

    (c1, m1, t1), (c2, m2, t2) = results(in_thread), results(in_child)
    for name in ("shift_y", "shift_x"):
        np.testing.assert_array_equal(c1[name], c2[name])
    np.testing.assert_array_equal(
        c1["corrected_movie"].to_dask().compute(), c2["corrected_movie"].to_dask().compute()
    )
    np.testing.assert_array_equal(np.asarray(m1), np.asarray(m2))
    assert len(t1) == len(t2) >= 1
    for a, b in zip(t1, t2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_cancel_in_the_child_leaves_no_row_no_zarr_and_uses_the_callers_write_options(
    pipeline, store_root
):
    key = new_session(pipeline, n_frames=80, shape=(64, 64))
    list(pipeline.run_populate(key, tables=("Recording",)))
    before = zarr_folders(store_root)
    flag: list[bool] = []
    with write_options(chunk_budget=4 * 4 * 64 * 64):  # shards of 4 frames
        run = pipeline.run_populate(
            key, tables=("MotionCorrected",), cancel=lambda: bool(flag), separate_process=True
        )
    writes, events = [], []
    for event in run:
        events.append(event)
        if event.kind == "stage" and event.stage == "motion correction":
            writes.append(event.done)
            flag.append(True)  # seen by the child at its next chunk check
    assert writes == [4]  # one shard of 4 frames (the caller's budget), then stopped
    assert events[-1].kind == "run-finished" and events[-1].cancelled
    assert [e.status for e in events if e.kind == "key-finished"] == ["cancelled"]
    assert len(pipeline.MotionCorrected & key) == 0
    assert zarr_folders(store_root) == before
    counts = pipeline.table_counts(pipeline.MotionCorrected, key)
    assert (counts.done, counts.pending, counts.error, counts.reserved) == (0, 1, 0, 0)


def test_closing_the_generator_cancels_the_child_and_waits_for_its_rollback(
    pipeline, store_root
):
    key = new_session(pipeline)
    before = zarr_folders(store_root)
    run = pipeline.run_populate(key, tables=("Recording",), separate_process=True)
    for event in run:
        if event.kind == "stage":
            break
    run.close()
    assert not child_processes()
    assert len(pipeline.Recording & key) == 0
    assert zarr_folders(store_root) == before
    assert pipeline.table_counts(pipeline.Recording, key).pending == 1


def test_failed_key_in_the_child_is_recorded_and_retried(pipeline, store_root):
    key = new_session(pipeline)
    folder = pipeline.session_folder({**key, "session_date": DATE})
    (folder / "b.tif").write_bytes(b"II*\x00 this is not a tiff")
    before = zarr_folders(store_root)
    events = list(pipeline.run_populate(key, tables=("Recording",), separate_process=True))
    failed = [e for e in events if e.kind == "key-finished" and e.status == "error"]
    assert len(failed) == 1 and "not a readable TIFF" in failed[0].error
    assert zarr_folders(store_root) == before
    failures = pipeline.failed_keys(key)
    assert [f.table for f in failures] == ["Recording"]

    movie = synthetic.make_movie(n_frames=20, shape=(48, 48), n_neurons=2, seed=3).movie
    synthetic.write_tiff(folder / "b.tif", movie)
    events = list(pipeline.retry_failed(failures, separate_process=True))
    assert [e.status for e in events if e.kind == "key-finished"] == ["done"]
    assert pipeline.failed_keys(key) == [] and len(pipeline.Recording & key) == 2


def test_a_killed_child_is_reported_and_its_job_goes_back_to_the_queue(pipeline, store_root):
    key = new_session(pipeline, n_frames=80, shape=(64, 64))
    before = zarr_folders(store_root)
    with write_options(chunk_budget=4 * 4 * 64 * 64):
        run = pipeline.run_populate(key, tables=("Recording",), separate_process=True)
    with pytest.raises(PopulateProcessError, match=r"ended unexpectedly \(exit code -9\).*queue"):
        for event in run:
            if event.kind == "stage":  # the child waits for us: kill it mid-write
                (child,) = child_processes()
                child.kill()
    assert not child_processes()
    assert len(pipeline.Recording & key) == 0
    counts = pipeline.table_counts(pipeline.Recording, key)
    assert (counts.done, counts.pending, counts.error, counts.reserved) == (0, 1, 0, 0)
    # the killed child could not remove its partial zarr; DataJoint's garbage collector does
    pipeline.collect_garbage(dry_run=False, min_age=0)
    assert zarr_folders(store_root) == before
    events = list(pipeline.run_populate(key, tables=("Recording",), separate_process=True))
    assert [e.status for e in events if e.kind == "key-finished"] == ["done"]



def test_a_terminated_child_rolls_back_and_its_job_goes_back_to_the_queue(pipeline, store_root):
    key = new_session(pipeline, n_frames=80, shape=(64, 64))
    before = zarr_folders(store_root)
    with write_options(chunk_budget=4 * 4 * 64 * 64):
        run = pipeline.run_populate(key, tables=("Recording",), separate_process=True)
    with pytest.raises(PopulateProcessError, match=r"SIGTERM.*queue"):
        for event in run:
            if event.kind == "stage":  # DataJoint's populate turns SIGTERM into SystemExit
                (child,) = child_processes()
                child.terminate()
    assert not child_processes()
    assert len(pipeline.Recording & key) == 0
    assert zarr_folders(store_root) == before  # rolled back and removed by the child itself
    counts = pipeline.table_counts(pipeline.Recording, key)
    assert (counts.done, counts.pending, counts.error, counts.reserved) == (0, 1, 0, 0)

def test_restrictions_are_sent_as_values(pipeline):
    key = new_session(pipeline)
    with pytest.raises(TypeError, match="restrictions must be plain values"):
        pipeline.run_populate(lambda: True, separate_process=True)
    assert not child_processes()  # refused before anything started
    session = pipeline.Session & key  # a query expression goes as the keys it holds
    events = list(pipeline.run_populate(session, tables=("Recording",), separate_process=True))
    assert [e.status for e in events if e.kind == "key-finished"] == ["done"]
    assert len(pipeline.Recording & key) == 1


def test_a_child_that_cannot_connect_says_why(pipeline, monkeypatch):
    key = new_session(pipeline)
    connection = pipeline.schema.connection
    monkeypatch.setitem(connection.conn_info, "passwd", "not-the-password")
    with pytest.raises(Exception, match="(?i)password"):
        list(pipeline.run_populate(key, tables=("Recording",), separate_process=True))
    monkeypatch.undo()
    assert pipeline.table_counts(pipeline.Recording, key).pending == 1


PARENT_SCRIPT = """
import signal, sys
from napari_photon import pipeline
from napari_photon.storage import write_options

pipeline.activate(sys.argv[1])
with write_options(chunk_budget=4 * 4 * 64 * 64):
    run = pipeline.run_populate({"mouse_id": int(sys.argv[2])}, tables=("Recording",),
                                separate_process=True)
for event in run:
    if event.kind == "stage" and event.stage.startswith("import"):
        import psutil
        (child,) = psutil.Process().children()
        print("child", child.pid, flush=True)
        signal.pause()  # until the test kills this process
"""


def test_when_the_parent_dies_the_child_rolls_back_and_exits(pipeline, store_root, tmp_path):
    import subprocess
    import sys

    key = new_session(pipeline, n_frames=80, shape=(64, 64))
    before = zarr_folders(store_root)
    script = tmp_path / "parent.py"
    script.write_text(PARENT_SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, str(script), pipeline.database, str(key["mouse_id"])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = next(line for line in parent.stdout if line.startswith("child "))
        child = psutil.Process(int(line.split()[1]))  # mid-import, waiting for its parent
        assert zarr_folders(store_root) != before  # its zarr is being written
        parent.kill()
        child.wait(timeout=120)  # psutil.TimeoutExpired if it never exits
        assert not child.is_running()
    finally:
        parent.kill()
        parent.wait()
    assert len(pipeline.Recording & key) == 0
    assert zarr_folders(store_root) == before
    counts = pipeline.table_counts(pipeline.Recording, key)
    assert (counts.done, counts.pending, counts.error, counts.reserved) == (0, 1, 0, 0)

