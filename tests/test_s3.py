"""The <photon@> column on an S3 store: a real S3 HTTP endpoint (moto) on loopback."""

from __future__ import annotations

import datajoint as dj
import numpy as np
import pytest
import s3fs

from napari_photon.anscombe import generalized_anscombe
from napari_photon.storage import PhotonTable, ZarrLocation


@pytest.fixture
def s3_table(pipeline, s3_endpoint):
    dj.config["stores"]["s3test"] = dict(s3_endpoint)
    schema = dj.Schema("test_s3", connection=pipeline.schema.connection)

    @schema
    class CloudMovie(PhotonTable, dj.Manual):
        definition = """
        movie_id : int32
        ---
        movie : <photon@s3test>
        """

    fs = s3fs.S3FileSystem(
        key=s3_endpoint["access_key"],
        secret=s3_endpoint["secret_key"],
        client_kwargs={"endpoint_url": f"http://{s3_endpoint['endpoint']}"},
    )
    root = f"{s3_endpoint['bucket']}/{s3_endpoint['location']}"
    return CloudMovie, fs, root


def objects(fs, root) -> set[str]:
    fs.invalidate_cache()
    return set(fs.find(root)) if fs.exists(root) else set()


def test_round_trip_and_lazy_fetch_on_s3(s3_table, monkeypatch):
    CloudMovie, fs, root = s3_table
    x = np.random.default_rng(1).poisson(15, size=(40, 48, 64)).astype(np.uint16)
    CloudMovie.insert1({"movie_id": 1, "movie": x})
    opened = []
    original = ZarrLocation.open_array
    monkeypatch.setattr(ZarrLocation, "open_array", lambda self: opened.append(1) or original(self))
    movie = (CloudMovie & {"movie_id": 1}).fetch1("movie")
    assert movie.store == "s3test" and movie.shape == x.shape and opened == []
    stored = objects(fs, root)
    assert any(p.endswith(movie.path + "/zarr.json") for p in stored)
    frame = movie[7]
    assert opened == [1]
    assert np.abs(frame - generalized_anscombe(x[7])).max() <= 0.25 + 1e-6
    lazy = movie.to_dask(4)
    assert np.abs(lazy[10:20].mean(axis=0).compute()
                  - generalized_anscombe(x[10:20]).mean(axis=0)).max() < 0.25
    assert movie.stored_nbytes == sum(fs.du(p) for p in stored if movie.path in p)


def test_failed_insert_and_delete_leave_nothing_on_s3(s3_table):
    CloudMovie, fs, root = s3_table
    x = np.random.default_rng(2).poisson(15, size=(20, 32, 32)).astype(np.float32)
    before = objects(fs, root)
    bad = x.copy()
    bad[15, 0, 0] = np.nan
    with pytest.raises(dj.DataJointError, match="finite"):
        CloudMovie.insert1({"movie_id": 2, "movie": bad})
    assert objects(fs, root) == before
    CloudMovie.insert1({"movie_id": 3, "movie": x})
    with pytest.raises(dj.errors.DuplicateError):
        CloudMovie.insert1({"movie_id": 3, "movie": x})
    assert len(objects(fs, root) - before) > 0
    (CloudMovie & {"movie_id": 3}).delete(prompt=False)
    assert objects(fs, root) == before


def test_whole_shards_read_directly_parts_through_zarr(s3_table, monkeypatch):
    from napari_photon.storage import _movie, write_options

    CloudMovie, _, _ = s3_table
    x = np.random.default_rng(4).poisson(9, size=(30, 24, 32)).astype(np.uint16)
    with write_options(chunk_budget=8 * 24 * 32 * 4):  # 8 frames per shard, 4 shards
        CloudMovie.insert1({"movie_id": 4, "movie": x})
    movie = (CloudMovie & {"movie_id": 4}).fetch1("movie")
    assert movie.shard_layout is not None and movie.frames_per_chunk == 8
    direct = []
    original = _movie.read_frames
    monkeypatch.setattr(_movie, "read_frames",
                        lambda *a, **k: direct.append(a[2:4]) or original(*a, **k))
    whole = np.asarray(movie.zarr_array[...])
    for index, fast in [(slice(0, 8), True), (slice(8, 30), True), (slice(None), True),
                        (slice(3, 11), False), (5, False), (slice(24, 30), True)]:
        direct.clear()
        np.testing.assert_array_equal(movie[index], whole[index])
        assert bool(direct) == fast, index


def test_byte_ranges_of_a_stored_object_on_s3(s3_table):
    """``ZarrLocation.read_bytes``: whole object, a range, a suffix (negative start)."""
    from napari_photon.storage import write_options

    CloudMovie, _, _ = s3_table
    x = np.random.default_rng(5).poisson(9, size=(16, 24, 32)).astype(np.uint16)
    with write_options(chunk_budget=8 * 24 * 32 * 4):  # 2 shards of 8 frames
        CloudMovie.insert1({"movie_id": 5, "movie": x})
    movie = (CloudMovie & {"movie_id": 5}).fetch1("movie")
    key = movie.shard_layout.key(1)
    whole = movie.location.read_bytes(key)
    assert whole is not None and len(whole) > 100
    assert movie.location.read_bytes(key, 10, 50) == whole[10:50]
    assert movie.location.read_bytes(key, -36) == whole[-36:]
    assert movie.location.read_bytes("c/9/0/0") is None
