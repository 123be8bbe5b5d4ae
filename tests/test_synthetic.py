"""Tests for napari_photon.synthetic: ground-truth movies and ImageJ TIFF output."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import tifffile

from napari_photon import synthetic
from napari_photon.synthetic import SyntheticMovie, make_movie, make_volume, write_tiff

SMALL = dict(n_frames=50, shape=(64, 64), n_neurons=5, max_shift=3.0)


@pytest.fixture(scope="module")
def small() -> SyntheticMovie:
    return make_movie(**SMALL, seed=1)


def test_seeded_reproducibility() -> None:
    a, b, c = make_movie(**SMALL, seed=3), make_movie(**SMALL, seed=3), make_movie(**SMALL, seed=4)
    for field in ("movie", "shifts", "footprints", "masks", "traces", "background"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.movie, c.movie)


def test_shapes_and_dtypes(small: SyntheticMovie) -> None:
    t, (h, w), n = SMALL["n_frames"], SMALL["shape"], SMALL["n_neurons"]
    assert small.movie.shape == (t, h, w) and small.movie.dtype == np.uint16
    assert small.shifts.shape == (t, 2) and small.shifts.dtype == np.float32
    assert small.footprints.shape == (n, h, w) and small.footprints.dtype == np.float32
    assert small.masks.shape == (n, h, w) and small.masks.dtype == bool
    assert small.traces.shape == (n, t) and small.traces.dtype == np.float32
    assert small.background.shape == (h, w) and small.background.dtype == np.float32
    assert small.frame_rate == 30.0


def test_rates_within_baseline(small: SyntheticMovie) -> None:
    assert small.background.min() >= 5.0 - 1e-4 and small.background.max() <= 50.0 + 1e-4
    # Away from cells, the mean count follows the background (cells only add light).
    outside = ~small.masks.any(axis=0)
    mean = small.movie.mean(axis=0)
    assert 5.0 <= mean[outside].mean() <= 50.0
    assert abs(mean[outside].mean() - small.background[outside].mean()) < 1.5
    assert np.all(small.traces >= 0)


def test_shifts_bounded_and_moving() -> None:
    s = make_movie(n_frames=300, shape=(48, 48), n_neurons=2, max_shift=2.5, seed=2)
    assert np.abs(s.shifts).max() <= 2.5
    assert s.shifts.std(axis=0).min() > 0.05
    still = make_movie(n_frames=5, shape=(48, 48), n_neurons=2, max_shift=0.0, seed=2)
    assert not still.shifts.any()


def test_footprints_inside_frame_and_disjoint(small: SyntheticMovie) -> None:
    margin = int(np.ceil(SMALL["max_shift"]))
    for f, m in zip(small.footprints, small.masks):
        assert f.max() == pytest.approx(1.0) and m.any()
        rows, cols = np.nonzero(m)
        assert rows.min() >= margin and cols.min() >= margin
        assert rows.max() < 64 - margin and cols.max() < 64 - margin
    assert small.masks.sum(axis=0).max() == 1


def test_frames_show_the_scene_translated_by_shifts() -> None:
    """Sign convention: a bright spot at p appears at p + shifts[t]."""
    yy, xx = np.mgrid[:32, :32]
    spot = np.exp(-((yy - 15.0) ** 2 + (xx - 17.0) ** 2) / 4.0).astype(np.float32)
    shifts = np.array([[0.0, 0.0], [1.5, -2.25], [-2.7, 0.4]], np.float32)
    traces = np.full((1, 3), 20000.0, np.float32)
    movie = synthetic._render(np.zeros((32, 32), np.float32), spot[None], traces, shifts,
                              pad=5, rng=np.random.default_rng(0), dtype=np.dtype(np.uint16))
    for frame, (dy, dx) in zip(movie.astype(float), shifts):
        cy, cx = (frame * yy).sum() / frame.sum(), (frame * xx).sum() / frame.sum()
        assert cy == pytest.approx(15.0 + dy, abs=0.05)
        assert cx == pytest.approx(17.0 + dx, abs=0.05)


def test_make_volume() -> None:
    v = make_volume(n_frames=20, n_planes=3, shape=(48, 48), n_neurons=6, max_shift=2.0, seed=5)
    assert v.movie.shape == (20, 3, 48, 48) and v.movie.dtype == np.uint16
    assert v.footprints.shape == (6, 3, 48, 48) and v.masks.shape == (6, 3, 48, 48)
    assert v.background.shape == (3, 48, 48) and v.traces.shape == (6, 20)
    assert v.plane_spacing == 10.0 and v.shifts.shape == (20, 2)
    # every cell lives in exactly one plane
    assert np.all((v.footprints.max(axis=(2, 3)) > 0).sum(axis=1) == 1)
    again = make_volume(n_frames=20, n_planes=3, shape=(48, 48), n_neurons=6, max_shift=2.0,
                        seed=5)
    np.testing.assert_array_equal(v.movie, again.movie)


def test_too_many_cells_raise() -> None:
    with pytest.raises(ValueError, match="could not place"):
        make_movie(n_frames=2, shape=(32, 32), n_neurons=50, max_shift=2.0)


@pytest.mark.parametrize("lazy", [False, True])
def test_write_tiff_round_trip(tmp_path: Path, small: SyntheticMovie, lazy: bool) -> None:
    data = da.from_array(small.movie, chunks=(7, 64, 64)) if lazy else small.movie
    path = write_tiff(tmp_path / "movie.tif", data, frame_rate=small.frame_rate)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej
        np.testing.assert_array_equal(tif.asarray(), small.movie)
        assert 1.0 / tif.imagej_metadata["finterval"] == pytest.approx(30.0)


def test_write_tiff_volume(tmp_path: Path) -> None:
    v = make_volume(n_frames=6, n_planes=2, shape=(32, 32), n_neurons=2, max_shift=1.0)
    path = write_tiff(tmp_path / "vol.tif", v.movie, frame_rate=v.frame_rate)
    with tifffile.TiffFile(path) as tif:
        assert tif.series[0].axes == "TZYX"
        np.testing.assert_array_equal(tif.asarray(), v.movie)
        assert tif.imagej_metadata["finterval"] == pytest.approx(0.1)
