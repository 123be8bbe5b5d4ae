"""``napari_photon.pipeline``'s job model: counts, cancellable populate with progress, retry."""

from __future__ import annotations

import itertools

import pytest
from conftest import tiff_session, zarr_folders

from napari_photon import synthetic
from napari_photon.pipeline._protocol import RunFraction

DATE = "2026-11-25"


# The movie of test_pipeline's design-document test, in which ROI detection finds ROIs
# (a key with zero ROIs cannot make its Trace); the small default is for import tests.
DESIGN = {"n_frames": 150, "shape": (96, 96), "n_neurons": 8, "max_shift": 3, "seed": 4}


def new_session(pipeline, n_files: int = 1, **movie) -> dict:
    """A session with ``n_files`` small TIFF stacks (see ``conftest.tiff_session``)."""
    key = tiff_session(pipeline, "J", n_files, **movie)
    return {"mouse_id": key["mouse_id"]}


def counts_of(pipeline, table, key):
    return pipeline.table_counts(table, key)


# ------------------------------------------------------------------------------ pure model


def test_progress_fraction_is_monotone_and_splits_stages():
    p = RunFraction(n_tables=2)
    seen = [p.start_table(0, n_keys=2), p.start_key(0)]
    # first key: unknown stage count, each new stage gets half of what is left
    seen += [p.stage("a", 5, 10), p.stage("a", 10, 10), p.stage("b", 0, 4), p.stage("b", 4, 4)]
    # table share 1/2 * key share 1/2 * first stage gets 1/2 of the key * half of its frames
    assert seen[2] == pytest.approx(0.5 * 0.5 * 0.5 * 0.5)
    seen.append(p.finish_key())
    assert seen[-1] == pytest.approx(0.25)
    # second key: two stages expected, each gets half the key
    seen += [p.start_key(1), p.stage("a", 10, 10)]
    assert seen[-1] == pytest.approx(0.25 + 0.125)
    seen += [p.stage("b", 2, 4), p.finish_key(), p.finish_table()]
    assert seen[-1] == pytest.approx(0.5)
    seen += [p.start_table(1, n_keys=0), p.finish_table()]
    assert seen[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in itertools.pairwise(seen))


# ------------------------------------------------------------------------------ database


def test_counts_and_populate_one_table_with_frame_progress(pipeline):
    key = new_session(pipeline, n_files=2)
    before = counts_of(pipeline, pipeline.Recording, key)
    assert (before.total, before.done, before.pending, before.error) == (1, 0, 1, 0)
    assert before.tier == "Imported"

    events = list(pipeline.run_populate(key, tables=("Recording",)))
    kinds = [e.kind for e in events]
    assert kinds[0] == "run-started" and kinds[-1] == "run-finished"
    assert events[0].tables == ("Recording",)
    stages = [e for e in events if e.kind == "stage"]
    # progress inside the key: the two files' import stages, frame by frame
    assert {"import a.tif", "import b.tif"} <= {e.stage for e in stages}
    assert ("import b.tif", 40, 40) in {(e.stage, e.done, e.total) for e in stages}
    fractions = [e.fraction for e in events]
    assert all(b >= a for a, b in itertools.pairwise(fractions))
    assert 0 < stages[0].fraction < 1 and fractions[-1] == 1.0
    finished = [e for e in events if e.kind == "key-finished"]
    assert [e.status for e in finished] == ["done"]
    table_done = next(e for e in events if e.kind == "table-finished")
    assert table_done.counts.done == 1 and table_done.counts.pending == 0

    after = counts_of(pipeline, pipeline.Recording, key)
    assert (after.total, after.done, after.pending, after.error) == (1, 1, 0, 0)
    assert len(pipeline.Recording & key) == 2  # one key, two rows: counted once
    # the next table's keys appeared
    motion = counts_of(pipeline, pipeline.MotionCorrected, key)
    assert (motion.total, motion.done, motion.pending) == (2, 0, 2)


def test_populate_all_in_dependency_order(pipeline):
    key = new_session(pipeline, **DESIGN)
    events = list(pipeline.run_populate(key))
    order = [e.table for e in events if e.kind == "table-started"]
    assert order == [t.__name__ for t in pipeline.computed]
    assert events[-1].fraction == 1.0 and not events[-1].cancelled and events[-1].n_errors == 0
    statuses = {(e.table, e.status) for e in events if e.kind == "key-finished"}
    assert {status for _, status in statuses} == {"done"}, statuses
    for counts in pipeline.job_counts(key):
        assert counts.error == 0 and counts.reserved == 0 and counts.pending == 0, counts
        assert counts.done == counts.total, counts
        # a session of 2D stacks is no VolumeRecording key, and nobody curated its ROIs
        # (no CuratedTrace key); every other table made one
        unmade = ("VolumeRecording", "CuratedTrace")
        assert counts.total == (0 if counts.table in unmade else 1), counts
    assert len(pipeline.Trace & key) >= 1


def test_cancel_between_chunks_leaves_no_row_no_zarr_and_requeues(pipeline, store_root):
    key = new_session(pipeline)
    list(pipeline.run_populate(key, tables=("Recording",)))
    before = zarr_folders(store_root)
    flag: list[bool] = []
    events = []
    for event in pipeline.run_populate(key, tables=("MotionCorrected",), cancel=lambda: bool(flag)):
        events.append(event)
        if event.kind == "stage" and event.stage == "motion correction":
            flag.append(True)  # seen at the next chunk check, inside the zarr write
    assert flag, "never reached the motion-correction write"
    assert events[-1].kind == "run-finished" and events[-1].cancelled
    assert events[-1].fraction < 1.0
    assert [e.status for e in events if e.kind == "key-finished"] == ["cancelled"]
    assert len(pipeline.MotionCorrected & key) == 0
    assert zarr_folders(store_root) == before
    counts = counts_of(pipeline, pipeline.MotionCorrected, key)
    assert (counts.done, counts.pending, counts.error, counts.reserved) == (0, 1, 0, 0)
    assert pipeline.failed_keys(key) == []


def test_closing_the_generator_cancels_and_cleans_up(pipeline, store_root):
    key = new_session(pipeline)
    before = zarr_folders(store_root)
    run = pipeline.run_populate(key, tables=("Recording",))
    for event in run:
        if event.kind == "stage":
            break
    run.close()  # GeneratorExit: the helper thread rolls back and is joined
    assert len(pipeline.Recording & key) == 0
    assert zarr_folders(store_root) == before
    assert counts_of(pipeline, pipeline.Recording, key).pending == 1


def test_failed_key_is_listed_and_retry_works_after_fixing(pipeline, store_root):
    key = new_session(pipeline)
    folder = pipeline.session_folder({**key, "session_date": DATE})
    (folder / "b.tif").write_bytes(b"II*\x00 this is not a tiff")
    before = zarr_folders(store_root)

    events = list(pipeline.run_populate(key, tables=("Recording",)))
    failed = [e for e in events if e.kind == "key-finished" and e.status == "error"]
    assert len(failed) == 1 and "not a readable TIFF" in failed[0].error
    assert events[-1].n_errors == 1 and not events[-1].cancelled
    assert zarr_folders(store_root) == before  # a.tif's zarr was removed with the rollback
    counts = counts_of(pipeline, pipeline.Recording, key)
    assert (counts.done, counts.pending, counts.error) == (0, 0, 1)
    failures = pipeline.failed_keys(key)
    assert [f.table for f in failures] == ["Recording"]
    assert failures[0].key == {
        "mouse_id": key["mouse_id"],
        "session_date": failures[0].key["session_date"],
    }
    assert "not a readable TIFF" in failures[0].message

    # a plain populate does not retry a failed key
    list(pipeline.run_populate(key, tables=("Recording",)))
    assert counts_of(pipeline, pipeline.Recording, key).error == 1

    movie = synthetic.make_movie(n_frames=20, shape=(48, 48), n_neurons=2, seed=3).movie
    synthetic.write_tiff(folder / "b.tif", movie)
    events = list(pipeline.retry_failed(failures))
    assert [e.status for e in events if e.kind == "key-finished"] == ["done"]
    counts = counts_of(pipeline, pipeline.Recording, key)
    assert (counts.done, counts.pending, counts.error) == (1, 0, 0)
    assert pipeline.failed_keys(key) == []
    assert len(pipeline.Recording & key) == 2


def test_unknown_table_name_is_rejected(pipeline):
    with pytest.raises(ValueError, match="not an auto-populated"):
        pipeline.run_populate(tables=("Mouse",))


@pytest.mark.parametrize("separate_process", [False, True], ids=["thread", "child"])
def test_a_key_another_worker_reserved_is_skipped_and_the_table_goes_on(
    pipeline, separate_process
):
    both = [new_session(pipeline), new_session(pipeline)]
    events, taken = [], []
    run = pipeline.run_populate(both, tables=("Recording",), separate_process=separate_process)
    for event in run:
        events.append(event)
        if event.kind == "key-started" and not taken:
            # another worker (this process) reserves it between the run's listing and its
            # reservation: in the child, DataJoint's populate(reserve_jobs=True) finds it taken
            assert pipeline.Recording.jobs.reserve(event.key)
            taken.append(event.key)
    finished = [e for e in events if e.kind == "key-finished"]
    assert [e.status for e in finished] == ["skipped", "done"]
    assert finished[0].key == taken[0] and finished[1].key != taken[0]
    assert len(pipeline.Recording & taken[0]) == 0
    counts = pipeline.table_counts(pipeline.Recording, both)
    assert (counts.done, counts.reserved, counts.pending, counts.error) == (1, 1, 0, 0)
    (pipeline.Recording.jobs & taken[0]).delete_quick()
