"""The <photon@> DataJoint column on the embedded PostgreSQL server and a file store."""

from __future__ import annotations

import itertools
import json
import tracemalloc

import dask.array as da
import datajoint as dj
import numpy as np
import pytest
import zarr
from conftest import zarr_folders

from napari_photon.anscombe import generalized_anscombe
from napari_photon.calibration import Calibration
from napari_photon.storage import (
    Calibrated,
    Cancelled,
    PhotonMovie,
    PhotonTable,
    ZarrLocation,
    collect_garbage,
    remove_on_failure,
    write_options,
)

_ids = itertools.count(1)


@pytest.fixture
def tables(pipeline):
    """A small schema with <photon@> columns in the default and the archive store."""
    connection = pipeline.schema.connection
    schema = dj.Schema("test_codec", connection=connection)

    @schema
    class Movie(PhotonTable, dj.Manual):
        definition = """
        movie_id : int32
        ---
        movie : <photon@>
        """

    @schema
    class ArchivedMovie(PhotonTable, dj.Manual):
        definition = """
        -> Movie
        ---
        archived : <photon@archive>
        """

    return schema, Movie, ArchivedMovie


def counts(shape=(24, 32, 40), lam=12.0, seed=0):
    return np.random.default_rng(seed).poisson(lam, size=shape).astype(np.uint16)


def test_round_trip_counts(tables, store_root):
    _, Movie, _ = tables
    key = {"movie_id": next(_ids)}
    x = counts()
    Movie.insert1(dict(key, movie=x))
    movie = (Movie & key).fetch1("movie")
    assert isinstance(movie, PhotonMovie)
    assert movie.shape == x.shape and movie.dtype == np.float32 and len(movie) == x.shape[0]
    assert movie.store == "active"  # <photon@> resolved to the configured default
    assert movie.calibration == Calibration()
    values = movie[:]
    assert values.dtype == np.float32
    assert np.abs(values - generalized_anscombe(x)).max() <= 0.25 + 1e-6
    photons = movie.photons("algebraic")[:]
    assert np.abs(photons - x).max() < 0.5 * np.sqrt(x.max() + 1)
    assert movie.stored_nbytes < x.nbytes
    assert movie.nbytes == x.size * 4
    attrs = zarr.open_array(store_root / movie.path, mode="r").attrs
    assert attrs["napari_photon"]["calibration"] == Calibration().to_dict()
    assert attrs["napari_photon"]["codec_version"] == 1


def test_row_json_records_calibration_and_store(tables, pipeline):
    _, Movie, _ = tables
    key = {"movie_id": next(_ids)}
    cal = Calibration(gain=3.5, zero_level=100.0, read_noise=2.0)
    Movie.insert1(dict(key, movie=Calibrated(counts() * 3.5 + 100.0, cal)))
    connection = pipeline.schema.connection
    table = Movie.full_table_name
    raw = connection.query(f"SELECT movie FROM {table} WHERE movie_id = {key['movie_id']}")
    stored = raw.fetchone()[0]
    stored = stored if isinstance(stored, dict) else json.loads(stored)
    assert stored["calibration"] == cal.to_dict()
    assert stored["store"] == "active" and stored["codec_version"] == 1
    assert stored["code_dtype"] == "uint8" and stored["step"] == 0.5


def test_fetch_is_lazy(tables, monkeypatch):
    _, Movie, _ = tables
    key = {"movie_id": next(_ids)}
    Movie.insert1(dict(key, movie=counts()))
    opened = []
    original = ZarrLocation.open_array
    monkeypatch.setattr(ZarrLocation, "open_array", lambda self: opened.append(1) or original(self))
    movie = (Movie & key).fetch1("movie")
    _ = (movie.shape, movie.calibration, movie.stored_nbytes, movie.to_dask)
    assert opened == []
    frame = movie[3]
    assert opened == [1] and frame.shape == movie.shape[1:]


def test_dask_zarr_and_4d_inputs(tables, tmp_path):
    _, Movie, _ = tables
    x = counts((12, 3, 16, 20))
    lazy = da.from_array(x, chunks=(5, 3, 16, 20))
    on_disk = zarr.create_array(tmp_path / "in.zarr", shape=x.shape, dtype=x.dtype, chunks=(4, 3, 16, 20))
    on_disk[:] = x
    for value in (x, lazy, on_disk):
        key = {"movie_id": next(_ids)}
        Movie.insert1(dict(key, movie=value))
        movie = (Movie & key).fetch1("movie")
        assert movie.shape == x.shape
        assert np.abs(movie.photons("algebraic")[:] - x).max() < 0.5 * np.sqrt(x.max() + 1)
        assert movie.to_dask(1).chunks[0][0] == 1


def test_levels_with_calibration_equal_counts(tables):
    _, Movie, _ = tables
    x = counts()
    cal = Calibration(gain=7.5, zero_level=120.0)
    a, b = {"movie_id": next(_ids)}, {"movie_id": next(_ids)}
    Movie.insert1(dict(a, movie=x))
    Movie.insert1(dict(b, movie=Calibrated((x * 7.5 + 120).astype(np.float32), cal)))
    np.testing.assert_array_equal((Movie & a).fetch1("movie")[:], (Movie & b).fetch1("movie")[:])
    assert (Movie & b).fetch1("movie").calibration == cal


def test_named_store(tables, photon_home):
    _, Movie, ArchivedMovie = tables
    key = {"movie_id": next(_ids)}
    Movie.insert1(dict(key, movie=counts()))
    ArchivedMovie.insert1(dict(key, archived=(Movie & key).fetch1("movie")))
    archived = (ArchivedMovie & key).fetch1("archived")
    assert archived.store == "archive"
    assert (photon_home / "stores" / "archive" / archived.path).is_dir()
    np.testing.assert_array_equal(archived[:], (Movie & key).fetch1("movie")[:])


BAD_INPUTS = {
    "list": ([[[1, 2]]], "cannot store a list"),
    "string": ("movie.tif", "cannot store a str"),
    "2d": (np.ones((8, 8)), "needs 3 or 4 dimensions"),
    "5d": (np.ones((2, 2, 2, 8, 8)), "needs 3 or 4 dimensions"),
    "complex": (np.ones((4, 8, 8), complex), "real numeric dtype"),
    "bool": (np.ones((4, 8, 8), bool), "real numeric dtype"),
    "empty": (np.ones((0, 8, 8)), "empty movie"),
    "nan": (np.where(np.arange(4 * 64).reshape(4, 8, 8) == 200, np.nan, 3.0), "must be finite"),
    "negative": (np.full((4, 8, 8), -5.0), "must not be negative"),
    "gain": (Calibrated(np.ones((4, 8, 8)), {"gain": 0.0}), "bad calibration .* gain"),
    "calibration type": (Calibrated(np.ones((4, 8, 8)), 2.5), "calibration must be"),
    "object dtype": (np.array([[[1, "a"]]], dtype=object), r"real numeric dtype \(integer or float\), got object"),
    "string dtype": (np.full((2, 4, 4), "7"), "real numeric dtype"),
    "gigantic frames": (da.zeros((10, 10**5, 10**5), chunks=(1, 1000, 1000), dtype="uint16"),
                        "would take 37.3 GiB each"),
    "inf": (np.full((4, 8, 8), np.inf), "must be finite"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_refused_and_leaves_nothing(tables, store_root, name):
    _, Movie, _ = tables
    value, message = BAD_INPUTS[name]
    key = {"movie_id": next(_ids)}
    before = zarr_folders(store_root)
    with pytest.raises(dj.DataJointError, match=message):
        Movie.insert1(dict(key, movie=value))
    assert len(Movie & key) == 0
    assert zarr_folders(store_root) == before


def test_nan_far_into_a_streamed_movie_removes_the_partial_zarr(tables, store_root):
    _, Movie, _ = tables
    x = counts((64, 16, 16)).astype(np.float32)
    x[60, 3, 3] = np.inf
    before = zarr_folders(store_root)
    with write_options(chunk_budget=16 * 16 * 4 * 8):  # 8 frames per block
        with pytest.raises(dj.DataJointError, match="frame 60"):
            Movie.insert1({"movie_id": next(_ids), "movie": x})
    assert zarr_folders(store_root) == before


def test_duplicate_key_removes_the_new_zarr_and_keeps_the_old(tables, store_root):
    _, Movie, _ = tables
    key = {"movie_id": next(_ids)}
    Movie.insert1(dict(key, movie=counts(seed=1)))
    before = zarr_folders(store_root)
    with pytest.raises(dj.errors.DuplicateError):
        Movie.insert1(dict(key, movie=counts(seed=2)))
    assert zarr_folders(store_root) == before
    assert (Movie & key).fetch1("movie")[0].shape == (32, 40)


def test_rolled_back_transaction_inside_a_scope_leaves_nothing(tables, store_root):
    _, Movie, _ = tables
    connection = Movie.connection
    key = {"movie_id": next(_ids)}
    before = zarr_folders(store_root)
    with pytest.raises(RuntimeError, match="later step failed"):
        with remove_on_failure(), connection.transaction:
            Movie.insert1(dict(key, movie=counts()))
            raise RuntimeError("a later step failed")
    assert len(Movie & key) == 0
    assert zarr_folders(store_root) == before


def test_cancel_leaves_nothing(tables, store_root):
    _, Movie, _ = tables
    key = {"movie_id": next(_ids)}
    before = zarr_folders(store_root)
    with write_options(chunk_budget=32 * 40 * 4 * 4, cancel=lambda: True):
        with pytest.raises(Cancelled):
            Movie.insert1(dict(key, movie=counts()))
    assert len(Movie & key) == 0
    assert zarr_folders(store_root) == before


def test_delete_removes_zarrs_including_cascaded_ones(tables, store_root):
    _, Movie, ArchivedMovie = tables
    key = {"movie_id": next(_ids)}
    Movie.insert1(dict(key, movie=counts()))
    ArchivedMovie.insert1(dict(key, archived=counts()))
    paths = [
        store_root / (Movie & key).fetch1("movie").path,
        store_root.parent / "archive" / (ArchivedMovie & key).fetch1("archived").path,
    ]
    assert all(p.is_dir() for p in paths)
    (Movie & key).delete(prompt=False)
    assert not any(p.exists() for p in paths)


def test_gc_removes_orphans_of_an_outside_rollback_only(tables, store_root):
    schema, Movie, _ = tables
    kept = {"movie_id": next(_ids)}
    Movie.insert1(dict(kept, movie=counts()))
    kept_path = store_root / (Movie & kept).fetch1("movie").path
    before = zarr_folders(store_root)
    with pytest.raises(RuntimeError):
        with Movie.connection.transaction:  # no scope: the insert itself succeeded
            Movie.insert1({"movie_id": next(_ids), "movie": counts()})
            raise RuntimeError("rolled back after the insert")
    orphans = zarr_folders(store_root) - before
    assert len(orphans) == 1
    young = collect_garbage(schema, dry_run=False, min_age=3600)
    assert young["stores"]["active"]["orphans"] == 1 and young["stores"]["active"]["removed"] == 0
    report = collect_garbage(schema, dry_run=False, min_age=0)
    assert report["stores"]["active"]["removed"] == 1
    assert zarr_folders(store_root) == before and kept_path.is_dir()


def _peak_insert_memory(Movie, frames: int, budget: int) -> int:
    height, width = 64, 128
    rng = np.random.default_rng(0)
    lazy = da.map_blocks(
        lambda b: rng.poisson(20, size=b.shape).astype(np.uint16),
        da.zeros((frames, height, width), chunks=(32, height, width), dtype=np.uint16),
        dtype=np.uint16,
    )
    tracemalloc.start()
    try:
        with write_options(chunk_budget=budget):
            Movie.insert1({"movie_id": next(_ids), "movie": lazy})
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_insert_memory_stays_bounded(tables):
    _, Movie, _ = tables
    budget = 2 * 2**20  # float32 values per block: 64 frames of 64 x 128
    small = _peak_insert_memory(Movie, 256, budget)  # 4x the budget
    large = _peak_insert_memory(Movie, 1024, budget)  # 16x the budget
    assert large < 1.25 * small, f"peak grew from {small / 2**20:.1f} to {large / 2**20:.1f} MiB"
    assert large < 6 * budget, f"peak {large / 2**20:.1f} MiB for a {budget / 2**20:.0f} MiB budget"


def test_dry_run_stores_nothing_and_reads_the_movie_through(tables, store_root):
    from napari_photon.storage import PhotonInputError, dry_run

    _, Movie, _ = tables
    key = {"movie_id": next(_ids)}
    x = counts()
    before = zarr_folders(store_root)
    done = []
    with dry_run() as run, write_options(chunk_budget=32 * 40 * 4 * 8,
                                         progress=lambda d, t: done.append(d)):
        Movie.insert1(dict(key, movie=x))
        with pytest.raises(PhotonInputError, match="finite"):
            Movie.insert1(dict(key, movie=np.full((2, 4, 4), np.nan)))
    assert len(Movie & key) == 0 and zarr_folders(store_root) == before
    assert done == [8, 16, 24]  # the blocks a write reads, with its progress reports
    (row,) = run.rows_of(Movie)
    assert row["movie"] is x
    Movie.insert1(dict(key, movie=x))  # outside the dry run: stored
    assert len(Movie & key) == 1 and zarr_folders(store_root) != before
