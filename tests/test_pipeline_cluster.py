"""The chunks inside one key on a dask.distributed cluster (`pipeline/_cluster.py`)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from conftest import tiff_session

from napari_photon import motion

REAL_MOVIE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-2p-movie.zarr"
MOVIE = {"n_frames": 96, "shape": (64, 64), "n_neurons": 4, "max_shift": 3, "seed": 11}


def test_without_a_scheduler_chunks_run_in_threads():
    from napari_photon.pipeline import cluster_client, using_cluster

    with using_cluster(None) as client:
        assert client is None and cluster_client() is None


def test_motion_estimation_runs_on_the_cluster_and_equals_threads(pipeline):
    import distributed

    from napari_photon.pipeline import cluster_client, using_cluster

    key = tiff_session(pipeline, "D", **MOVIE)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        with using_cluster(client) as used, distributed.get_task_stream(client) as ts:
            assert used is client and cluster_client() is client
            pipeline.populate(key, tables=(pipeline.Recording, pipeline.MotionCorrected))
        assert cluster_client() is None  # back to threads after the block
    ran = [task["key"] for task in ts.data]
    assert any("motion" in str(k) or "estimate" in str(k) for k in ran), ran[:5]
    raw = (pipeline.Recording & key).fetch1("raw_movie")
    method, params = (pipeline.MotionParams & (pipeline.MotionCorrected & key)).fetch1(
        "method", "params")
    threads = motion.estimate_motion(raw, method=method, **params,
                                     frames_per_chunk=raw.frames_per_chunk)
    row = (pipeline.MotionCorrected & key).fetch1()
    np.testing.assert_allclose(row["shift_y"], threads.shifts[:, 0], atol=1e-6)
    np.testing.assert_allclose(row["shift_x"], threads.shifts[:, 1], atol=1e-6)


def test_an_address_without_a_scheduler_is_a_clear_error():
    from napari_photon.pipeline import using_cluster

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    with (pytest.raises(ValueError, match=f"no Dask scheduler answered at '{address}'"),
          using_cluster(address, timeout=2)):
        pass


def test_a_worker_given_an_unreachable_scheduler_says_so(pipeline, capsys):
    from napari_photon.cli import main

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    code = main(["worker", "--schema", pipeline.database, "--scheduler", address,
                 "--max-keys", "1", "--poll", "0.1"])
    out = capsys.readouterr().out
    assert code == 2
    assert f"no Dask scheduler answered at '{address}'" in out


@pytest.fixture(scope="module")
def process_cluster():
    """A dask.distributed cluster of one worker process: what it computes has crossed a
    process boundary (nothing live is pickled; the worker reopens the stored movie)."""
    import distributed

    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_roi_detection_and_traces_run_on_the_cluster_and_equal_threads(pipeline,
                                                                       process_cluster):
    import distributed

    from napari_photon import rois, traces
    from napari_photon.pipeline import using_cluster

    client = process_cluster
    key = tiff_session(pipeline, "D rois", **MOVIE)
    pipeline.populate(key, tables=("Recording", "MotionCorrected"))
    with using_cluster(client), distributed.get_task_stream(client) as ts:
        pipeline.populate(key, tables=("ROI", "Trace"))
    ran = " ".join(str(task["key"]) for task in ts.data)
    assert "_span_sums" in ran and "_project_block" in ran, ran[:300]

    corrected = (pipeline.MotionCorrected & key).fetch1("corrected_movie")
    row = (pipeline.ROI & key).fetch1()
    method, params = (pipeline.RoiParams & key).fetch1("method", "params")
    shift_x, shift_y = (pipeline.MotionCorrected & key).fetch1("shift_x", "shift_y")
    from napari_photon.pipeline._processing import _border

    threads = rois.detect_rois(corrected, method=method, **params,
                               border=_border(shift_x, shift_y),
                               frames_per_chunk=corrected.frames_per_chunk)
    assert row["n_rois"] == len(threads.masks) > 0
    np.testing.assert_array_equal(row["roi_masks"], threads.masks)
    np.testing.assert_allclose(row["correlation_image"], threads.images.correlation,
                               atol=1e-5)
    np.testing.assert_allclose(row["mean_image"], threads.images.mean, rtol=1e-5)

    expected = traces.extract_all(corrected.photons("algebraic"), row["roi_masks"],
                                  frames_per_chunk=corrected.frames_per_chunk)
    made = (pipeline.Trace & key).to_dicts(order_by="roi_id")
    np.testing.assert_allclose(np.stack([r["fluorescence"] for r in made]),
                               expected.fluorescence, rtol=1e-6)
    np.testing.assert_allclose(np.stack([r["dff"] for r in made]), expected.dff,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bin_frames", [1, 3])
def test_summary_images_and_the_sparse_pass_on_the_cluster_equal_threads(
        process_cluster, bin_frames):
    """Spans of whole bins summed apart and merged give the threaded images; the sparse
    method's binned, high-passed movie is the same; so are its masks."""
    from napari_photon import rois, synthetic

    movie = synthetic.make_movie(**{**MOVIE, "max_shift": 0, "n_frames": 157}).movie
    photons = movie.astype(np.float32)
    threads = rois.summary_images(photons, 16, bin_frames=bin_frames)
    cluster = rois.summary_images(photons, 16, bin_frames=bin_frames, client=process_cluster)
    for name in ("mean", "max", "std", "correlation", "activity"):
        np.testing.assert_allclose(getattr(cluster, name), getattr(threads, name),
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    found = rois.detect_rois(photons, method="sparse", frames_per_chunk=16,
                             client=process_cluster)
    alone = rois.detect_rois(photons, method="sparse", frames_per_chunk=16)
    np.testing.assert_array_equal(found.masks, alone.masks)


@pytest.mark.parametrize("method", ["sparse", "correlation"])
def test_the_real_movie_gives_the_same_rois_on_the_cluster(process_cluster, method):
    """Data no simulator made, read by the cluster's own process: the real movie is an
    ``anscombe-v1`` zarr, whose codec the worker registers when it unpickles the movie."""
    from napari_photon import rois
    from napari_photon.storage import open_movie

    if not REAL_MOVIE.is_dir():
        pytest.skip(f"shared real movie not found at {REAL_MOVIE} (shared/data is absent)")
    movie = open_movie(REAL_MOVIE)
    alone = rois.detect_rois(movie, method=method, frames_per_chunk=movie.frames_per_chunk)
    found = rois.detect_rois(movie, method=method, frames_per_chunk=movie.frames_per_chunk,
                             client=process_cluster)
    assert len(alone.masks) > 0
    np.testing.assert_array_equal(found.masks, alone.masks)
    np.testing.assert_allclose(found.images.correlation, alone.images.correlation,
                               atol=1e-5)
