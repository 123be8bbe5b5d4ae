"""Preview and commit of one processing step: commit equals populate; cancel leaves nothing."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import drain, zarr_folders
from test_browse_tree import new_mouse


def _motion_key(pipeline, step, session, parameter_set=None):
    from napari_photon.browse import process_key, upstream_keys

    recording = {**session, "recording_num": 1}
    (upstream,) = upstream_keys(step, recording)
    return process_key(step, upstream, parameter_set or step.parameter_sets()[0])


def test_preview_and_commit_equal_populate(pipeline, store_root):
    """Two mice with the same movie: one populated, the other previewed then committed."""
    from napari_photon.browse import (
        commit,
        iterate_progress,
        preview,
        preview_layers,
        process_key,
        steps,
        upstream_keys,
    )

    reference = new_mouse(pipeline, frames=80, size=64, seed=11)
    mine = new_mouse(pipeline, frames=80, size=64, seed=11)
    defaults = {**reference, "motion_params_id": 1, "roi_params_id": 1}
    pipeline.populate(defaults, tables=(pipeline.MotionCorrected, pipeline.ROI))
    motion = steps(pipeline)["motion"]
    assert motion.methods() == ["rigid", "piecewise"]  # never "imported"
    key = _motion_key(pipeline, motion, mine)

    before = zarr_folders(store_root)
    reports, result = drain(iterate_progress(lambda: preview(motion, key)))
    assert len(pipeline.MotionCorrected & key) == 0
    assert zarr_folders(store_root) == before  # a preview stores nothing
    # the preview streams the corrected movie as a store would (QC needs it), storing nothing
    assert [(r.stage, r.done) for r in reports][-2:] == [
        ("motion estimation", 80),
        ("motion correction", 80),
    ]
    assert "shift_y" in result.summary()
    assert set(result.parts) == {"QC"} and result.parts["QC"][0]["mean_image"].shape == (64, 64)
    layers = preview_layers(result, pipeline.database)
    names = [kwargs["name"].split(" preview ")[1] for _, kwargs, _ in layers]
    assert names == ["corrected_movie", "reference_image", "mean_image", "max_image"]
    movie = layers[0][0]
    assert movie.shape == (80, 64, 64) and movie.chunksize[0] == 1

    reports, stored = drain(iterate_progress(lambda: commit(motion, key)))
    assert stored == key
    assert {"motion estimation", "motion correction"} <= {r.stage for r in reports}
    ref_key = {**reference, "recording_num": 1, "motion_params_id": 1}
    mine_row = (pipeline.MotionCorrected & key).fetch1()
    ref_row = (pipeline.MotionCorrected & ref_key).fetch1()
    for name in ("shift_x", "shift_y", "reference_image", "correlation_before"):
        np.testing.assert_array_equal(mine_row[name], ref_row[name])
        np.testing.assert_array_equal(mine_row[name], result.rows[0][name])  # = the preview
    mine_qc = (pipeline.MotionCorrected.QC & key).fetch1()
    ref_qc = (pipeline.MotionCorrected.QC & ref_key).fetch1()
    for name in ("correlation_after", "mean_image", "max_image"):
        np.testing.assert_array_equal(mine_qc[name], ref_qc[name])
        np.testing.assert_allclose(mine_qc[name], result.parts["QC"][0][name], rtol=1e-5)
    np.testing.assert_array_equal(
        np.asarray(mine_row["corrected_movie"]), np.asarray(ref_row["corrected_movie"])
    )
    np.testing.assert_allclose(
        movie[5:7].compute(), mine_row["corrected_movie"][5:7], atol=0.3
    )  # preview frames = stored frames up to the codec's quantization (half a noise sd)

    rois = steps(pipeline)["rois"]
    (upstream,) = upstream_keys(rois, {**mine, "recording_num": 1})
    roi_key = process_key(rois, upstream, rois.parameter_sets()[0])
    roi_preview = preview(rois, roi_key)
    layers = preview_layers(roi_preview)
    assert layers[-1][2] == "labels"
    commit(rois, roi_key)
    mine_masks = (pipeline.ROI & roi_key).fetch1("roi_masks")
    ref_masks = (pipeline.ROI & {**ref_key, "roi_params_id": 1}).fetch1("roi_masks")
    np.testing.assert_array_equal(mine_masks, ref_masks)
    np.testing.assert_array_equal(mine_masks, roi_preview.rows[0]["roi_masks"])


def test_commit_twice_and_missing_upstream(pipeline):
    from napari_photon.browse import AlreadyStored, commit, process_key, steps

    session = new_mouse(pipeline, frames=30, seed=5)
    motion = steps(pipeline)["motion"]
    key = _motion_key(pipeline, motion, session)
    commit(motion, key)
    with pytest.raises(AlreadyStored):
        commit(motion, key)
    rois = steps(pipeline)["rois"]
    orphan = process_key(
        rois, {**session, "recording_num": 1, "motion_params_id": 999}, rois.parameter_sets()[0]
    )
    with pytest.raises(LookupError, match="populate stored nothing"):
        commit(rois, orphan)


@pytest.mark.parametrize("when", ["motion estimation", "motion correction"])
def test_cancel_leaves_no_row_and_no_zarr(pipeline, store_root, when):
    """Cancel during estimation, and during the zarr write (after some shards are written)."""
    from napari_photon.browse import commit, iterate_progress, steps
    from napari_photon.pipeline import reporting
    from napari_photon.pipeline._progress import _reporter
    from napari_photon.storage import Cancelled, write_options

    session = new_mouse(pipeline, frames=60, seed=8, frames_per_shard=10)
    motion = steps(pipeline)["motion"]
    key = _motion_key(pipeline, motion, session)
    before = zarr_folders(store_root)
    seen = []

    def call():
        # chain to iterate_progress's reporter; decide on cancelling in this thread, right
        # after the report (deterministic: no race with the consumer)
        outer = _reporter.get()

        def progress(stage, done, total):
            seen.append((stage, done, total))
            outer.progress(stage, done, total)

        def cancel():
            stage, done, total = seen[-1] if seen else ("", 0, 0)
            return stage == when and 0 < done < total

        # 10-frame shards: the write of 60 frames reports six times
        with write_options(chunk_budget=10 * 4 * 48 * 48), reporting(progress, cancel):
            return commit(motion, key)

    with pytest.raises(Cancelled):
        drain(iterate_progress(call))
    assert seen[-1][0] == when and seen[-1][1] < seen[-1][2]
    assert len(pipeline.MotionCorrected & key) == 0
    assert zarr_folders(store_root) == before
