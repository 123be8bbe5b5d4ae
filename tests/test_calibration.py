"""Tests for napari_photon.calibration: the Calibration record and the PTC estimate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest

from napari_photon.calibration import Calibration, estimate

REAL_MOVIE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-2p-movie.zarr"


def _poisson_movie(gain: float, offset: float, n_frames: int = 200, seed: int = 0) -> np.ndarray:
    """Poisson counts with rates 5-50 photons/frame (gradient plus slow activity), in levels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    rate = 5.0 + 45.0 * (yy + xx) / 126.0
    # Slow, strong activity on a few blobs: successive differences must ignore it.
    blob = np.exp(-((yy - 20) ** 2 + (xx - 40) ** 2) / 20.0)
    activity = 1.0 + 0.8 * np.sin(np.linspace(0, 4 * np.pi, n_frames))[:, None, None] * blob
    return (gain * rng.poisson(rate * activity) + offset).astype(np.float32)


class _SliceOnly:
    """Array stand-in that records the slices read and refuses whole reads."""

    def __init__(self, data: np.ndarray) -> None:
        self._data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.requests: list[tuple[int, int]] = []

    def __getitem__(self, key: Any) -> np.ndarray:
        assert isinstance(key, slice) and key.step in (None, 1), f"unexpected key {key!r}"
        start, stop, _ = key.indices(self.shape[0])
        assert (start, stop) != (0, self.shape[0]), "estimate read the whole movie at once"
        self.requests.append((start, stop))
        return self._data[key]

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise AssertionError("estimate converted the whole movie to an array")


@pytest.mark.parametrize(("gain", "offset"), [(7.5, 120.0), (96.99, 86.0)])
def test_estimate_recovers_gain(gain: float, offset: float) -> None:
    cal = estimate(_poisson_movie(gain, offset))
    assert cal.gain == pytest.approx(gain, rel=0.10)
    assert abs(cal.zero_level - offset) < 2.0 * gain  # within 2 photons
    assert cal.read_noise == 0.0


def test_estimate_streams_slices_and_reports_progress() -> None:
    movie = _SliceOnly(_poisson_movie(7.5, 120.0, n_frames=150))
    calls: list[tuple[int, int]] = []
    cal = estimate(movie, frames_per_chunk=32, progress=lambda d, t: calls.append((d, t)))
    assert movie.requests == [(0, 32), (32, 64), (64, 96), (96, 128), (128, 150)]
    assert calls == [(32, 150), (64, 150), (96, 150), (128, 150), (150, 150)]
    assert cal.gain == pytest.approx(7.5, rel=0.10)


def test_chunking_does_not_change_the_result() -> None:
    movie = _poisson_movie(7.5, 120.0, n_frames=100)
    a = estimate(movie, frames_per_chunk=7)
    b = estimate(da.from_array(movie, chunks=(25, 32, 32)), frames_per_chunk=100)
    assert a.gain == pytest.approx(b.gain, rel=1e-9)
    assert a.zero_level == pytest.approx(b.zero_level, rel=1e-9)


def test_estimate_accepts_4d() -> None:
    movie = _poisson_movie(7.5, 120.0, n_frames=120).reshape(120, 2, 32, 64)
    assert estimate(movie).gain == pytest.approx(7.5, rel=0.10)


@pytest.mark.parametrize("shape", [(2, 16, 16), (16, 16), (5, 1, 2, 16, 16)])
def test_estimate_rejects_bad_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="frames|shape"):
        estimate(np.zeros(shape))


def test_estimate_rejects_noiseless_movie() -> None:
    with pytest.raises(ValueError, match="usable pixels; need at least .* temporal noise"):
        estimate(np.full((10, 16, 16), 100.0))


def test_calibration_dict_round_trip_and_photons() -> None:
    cal = Calibration(gain=np.float64(7.5), zero_level=120, read_noise=2.0)
    d = cal.to_dict()
    assert all(type(v) is float for v in d.values())
    assert Calibration.from_dict(json.loads(json.dumps(d))) == cal
    assert Calibration.from_dict({}) == Calibration()
    with pytest.raises(ValueError, match="unknown"):
        Calibration.from_dict({"gian": 2.0})
    with pytest.raises(ValueError, match="gain"):
        Calibration(gain=0.0)
    x = np.array([120.0, 135.0, 195.0])
    np.testing.assert_allclose(cal.to_photons(x), [0.0, 2.0, 10.0], rtol=1e-6)
    assert cal.to_photons(x).dtype == np.float32
    lazy = cal.to_photons(da.from_array(x.astype(np.uint16), chunks=2))
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
    np.testing.assert_allclose(lazy.compute(), [0.0, 2.0, 10.0], rtol=1e-6)
    assert cal.to_photons(127.5) == pytest.approx(1.0)


def test_estimate_on_real_movie() -> None:
    if not REAL_MOVIE.is_dir():
        pytest.skip(f"real movie not found at {REAL_MOVIE} (shared data folder absent)")
    import anscombe_transform  # noqa: F401  (registers the anscombe-v1 codec)
    import zarr

    movie = zarr.open_array(str(REAL_MOVIE), mode="r")
    cal = estimate(movie)
    # Recorded acquisition calibration: 96.99 levels per photon (measured here: 96.33).
    assert cal.gain == pytest.approx(96.99, rel=0.15)
