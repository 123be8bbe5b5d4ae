"""The chunks inside one key on a dask.distributed cluster (`pipeline/_cluster.py`)."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from conftest import tiff_session

from napari_photon import motion

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
    with pytest.raises(ValueError, match=f"no Dask scheduler answered at '{address}'"):
        with using_cluster(address, timeout=2):
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
