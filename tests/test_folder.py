"""Photon zarr folders without a database: save, open, and data written by anscombe-transform."""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import datajoint as dj
import numpy as np
import pytest
import zarr

from napari_photon.anscombe import generalized_anscombe
from napari_photon.calibration import Calibration
from napari_photon.storage import (
    Calibrated,
    NotAPhotonZarr,
    PhotonInputError,
    PhotonTable,
    open_movie,
    save_movie,
    write_options,
)

REAL_MOVIE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-2p-movie.zarr"


def real_movie_path() -> Path:
    if not REAL_MOVIE.is_dir():
        pytest.skip(f"shared real movie not found at {REAL_MOVIE} (the shared/data folder is absent)")
    return REAL_MOVIE


def test_save_and_open(tmp_path):
    x = np.random.default_rng(0).poisson(30, size=(50, 40, 30)).astype(np.uint16)
    steps = []
    with write_options(chunk_budget=40 * 30 * 4 * 8, progress=lambda d, t: steps.append((d, t))):
        saved = save_movie(tmp_path / "m.zarr", x)
    assert steps[-1] == (50, 50) and len(steps) == 7  # 8 frames per block
    movie = open_movie(tmp_path / "m.zarr")
    assert movie.shape == x.shape and movie.frames_per_chunk == 8
    np.testing.assert_array_equal(movie[:], saved[:])
    assert np.abs(movie[:] - generalized_anscombe(x)).max() <= 0.25 + 1e-6
    assert movie.to_dask(movie.frames_per_chunk).chunks[0] == (8,) * 6 + (2,)
    assert movie.to_dask().chunks[0] == (1,) * 50  # the default: one frame, for viewers
    counts = movie.counts  # exact unbiased inverse: for means, not single values
    assert abs(float(counts[:].mean()) - 30.0) < 0.5
    assert isinstance(movie.photons().to_dask(1), da.Array)
    meta = json.loads((tmp_path / "m.zarr" / "zarr.json").read_text())
    assert meta["attributes"]["napari_photon"]["calibration"] == Calibration().to_dict()


def test_bright_movie_switches_to_uint16_codes(tmp_path):
    x = np.random.default_rng(1).poisson(20_000, size=(6, 8, 8)).astype(np.uint32)
    movie = save_movie(tmp_path / "b.zarr", x)
    assert movie.metadata["code_dtype"] == "uint16"
    assert np.abs(movie.photons()[:] - x).max() < 0.5 * np.sqrt(x.max()) + 1


def test_save_refuses_bad_input_and_leaves_no_folder(tmp_path):
    with pytest.raises(PhotonInputError, match="needs 3 or 4 dimensions"):
        save_movie(tmp_path / "bad.zarr", np.ones((3, 3)))
    assert not (tmp_path / "bad.zarr").exists()


def test_open_refuses_what_is_not_a_photon_zarr(tmp_path):
    zarr.create_array(tmp_path / "plain.zarr", shape=(2, 2), dtype="f4")
    with pytest.raises(NotAPhotonZarr, match="without 'napari_photon' attributes"):
        open_movie(tmp_path / "plain.zarr")
    with pytest.raises(NotAPhotonZarr, match="not a zarr array folder"):
        open_movie(tmp_path)


def test_real_anscombe_v1_movie_opens_lazily_with_its_calibration():
    movie = open_movie(real_movie_path())
    assert movie.shape == (300, 200, 200)
    assert movie.calibration == Calibration(gain=movie.calibration.gain, zero_level=86.0)
    assert movie.calibration.gain == pytest.approx(96.99, rel=1e-3)
    levels = zarr.open_array(real_movie_path(), mode="r")[10]
    expected = generalized_anscombe(levels, gain=movie.calibration.gain, offset=86.0)
    np.testing.assert_allclose(movie[10], expected, atol=1e-5)


def test_real_movie_imports_into_a_photon_column(pipeline, store_root):
    schema = dj.Schema("test_folder", connection=pipeline.schema.connection)

    @schema
    class Imported(PhotonTable, dj.Manual):
        definition = """
        movie_id : int32
        ---
        movie : <photon@>
        """

    legacy = open_movie(real_movie_path())
    Imported.insert1({"movie_id": 1, "movie": legacy}, skip_duplicates=True)
    stored = (Imported & {"movie_id": 1}).fetch1("movie")
    assert stored.calibration == legacy.calibration
    assert stored.shape == legacy.shape
    assert np.abs(stored[:50] - legacy[:50]).max() <= 0.25 + 1e-5
    assert stored.stored_nbytes < legacy.original_nbytes / 3

    levels = zarr.open_array(real_movie_path(), mode="r")
    Imported.insert1(
        {"movie_id": 2, "movie": Calibrated(levels, legacy.calibration)}, skip_duplicates=True
    )
    again = (Imported & {"movie_id": 2}).fetch1("movie")
    assert np.abs(again[:50] - legacy[:50]).max() <= 0.25 + 1e-5
