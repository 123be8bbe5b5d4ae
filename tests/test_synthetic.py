"""Tests for napari_photon.synthetic: ground-truth movies and ImageJ TIFF output."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import tifffile

from napari_photon import synthetic
from napari_photon.synthetic import SyntheticMovie, make_movie, make_volume, write_tiff
from napari_photon.synthetic._rendering import render

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
    movie = render(np.zeros((32, 32), np.float32), spot[None], traces, shifts,
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


def test_nonrigid_warp_ground_truth() -> None:
    s = make_movie(n_frames=40, shape=(96, 96), n_neurons=6, max_shift=2.0, nonrigid=3.0,
                   seed=7)
    assert s.warp_basis is not None and s.warp_basis.shape[1:] == (2, 96, 96)
    assert s.warp_weights.shape == (40, s.warp_basis.shape[0])
    field = s.displacement()
    assert field.shape == (40, 2, 96, 96) and field.dtype == np.float32
    warp = field - s.shifts[:, :, None, None]
    assert 2.5 < np.abs(warp).max() <= 3.05  # reaches about the requested bound
    assert warp.std(axis=(2, 3)).mean() > 0.1  # varies across the field
    np.testing.assert_allclose(s.displacement(3)[0], field[3])
    # rigid movies have no warp, and their displacement is the shift everywhere
    rigid = make_movie(**SMALL, seed=1)
    assert rigid.warp_basis is None
    np.testing.assert_allclose(rigid.displacement([2])[0, :, 5, 7], rigid.shifts[2])


def test_nonrigid_frames_follow_the_field() -> None:
    """A bright spot at scene position q shows up at p with p - displacement(p) = q."""
    yy, xx = np.mgrid[:48, :48]
    spot = np.exp(-((yy - 24.0) ** 2 + (xx - 20.0) ** 2) / 4.0).astype(np.float32)
    shifts = np.array([[1.0, -0.5], [0.0, 0.0]], np.float32)
    basis = np.zeros((1, 2, 48, 48), np.float32)
    basis[0, 0] = 1.5  # uniform extra displacement along y
    weights = np.array([[1.0], [-1.0]], np.float32)
    traces = np.full((1, 2), 20000.0, np.float32)
    movie = render(np.zeros((48, 48), np.float32), spot[None], traces, shifts,
                   pad=6, rng=np.random.default_rng(0), dtype=np.dtype(np.uint16),
                   warp=(basis, weights))
    for frame, (dy, dx), wy in zip(movie.astype(float), shifts, (1.5, -1.5)):
        cy, cx = (frame * yy).sum() / frame.sum(), (frame * xx).sum() / frame.sum()
        assert cy == pytest.approx(24.0 + dy + wy, abs=0.1)
        assert cx == pytest.approx(20.0 + dx, abs=0.1)


def test_hard_variant() -> None:
    h = synthetic.make_hard_movie(n_frames=90, shape=(160, 160), n_neurons=30, seed=2)
    assert h.masks.shape[0] == 30
    assert np.abs(h.shifts).max() <= 12.0
    assert np.abs(np.diff(h.shifts, axis=0)).max() > 1.0  # jumps
    assert 2.0 - 1e-4 <= h.background.min() and h.background.max() <= 8.0 + 1e-4
    assert synthetic.HARD["n_neurons"] == 150 and synthetic.HARD["max_shift"] == 12.0
