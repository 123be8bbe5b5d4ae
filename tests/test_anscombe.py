"""Tests for napari_photon.anscombe: variance stabilization, unbiased inverse, dask."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

from napari_photon.anscombe import generalized_anscombe, generalized_inverse_anscombe

N_SAMPLES = 1_000_000
POISSON = (1.0, 0.0, 0.0)  # gain, offset, sigma
POISSON_GAUSSIAN = (3.5, 100.0, 4.0)


def _simulate(lam: float, gain: float, offset: float, sigma: float, seed: int = 0) -> np.ndarray:
    """Poisson-Gaussian samples in levels: gain * Poisson(lam) + offset + N(0, sigma^2)."""
    rng = np.random.default_rng(seed)
    x = gain * rng.poisson(lam, N_SAMPLES) + offset
    if sigma:
        x = x + rng.normal(0.0, sigma, N_SAMPLES)
    return x


def _inverse_of_mean(lam: float, gain: float, offset: float, sigma: float) -> float:
    """Mean signal in photons recovered from the mean of the forward transform."""
    y = generalized_anscombe(_simulate(lam, gain, offset, sigma), gain, offset, sigma)
    level = generalized_inverse_anscombe(float(np.mean(y, dtype=np.float64)), gain, offset, sigma)
    return (float(level) - offset) / gain


@pytest.mark.parametrize("lam", [3.0, 5.0, 10.0, 50.0, 200.0])
def test_poisson_variance_is_stabilized(lam: float) -> None:
    y = generalized_anscombe(_simulate(lam, *POISSON), *POISSON)
    assert y.dtype == np.float32
    assert abs(np.var(y, dtype=np.float64) - 1.0) < 0.05


# With read noise sigma/gain = 1.14 photons the GAT variance overshoots 1 at low counts
# (measured, and confirmed by exact numerical expectation: 1.075 at 3 photons, 1.052 at
# 4, 1.035 at 5), so the +/-0.05 band is asserted from 5 photons on.
@pytest.mark.parametrize("lam", [5.0, 10.0, 50.0, 200.0])
def test_poisson_gaussian_variance_is_stabilized(lam: float) -> None:
    y = generalized_anscombe(_simulate(lam, *POISSON_GAUSSIAN), *POISSON_GAUSSIAN)
    assert abs(np.var(y, dtype=np.float64) - 1.0) < 0.05


@pytest.mark.parametrize("lam", [1.0, 2.0, 3.0, 10.0, 100.0])
def test_poisson_inverse_is_unbiased(lam: float) -> None:
    assert _inverse_of_mean(lam, *POISSON) == pytest.approx(lam, rel=0.01)


# The closed form subtracts sigma^2 from the pure-Poisson inverse; for sigma > 0 that is
# biased at very low counts (exact expectation: -3.2% at 1 photon, -1.1% at 2, -0.4% at
# 3 for sigma/gain = 1.14), so 1% is asserted from 3 photons on and 5% below.
@pytest.mark.parametrize(("lam", "rel"), [(1.0, 0.05), (2.0, 0.02), (3.0, 0.01), (10.0, 0.01),
                                          (100.0, 0.01)])
def test_poisson_gaussian_inverse_is_unbiased(lam: float, rel: float) -> None:
    assert _inverse_of_mean(lam, *POISSON_GAUSSIAN) == pytest.approx(lam, rel=rel)


def test_inverse_guards_nonpositive_values() -> None:
    y = np.array([-3.0, 0.0, 0.1, 5.0], dtype=np.float32)
    with np.errstate(all="raise"):
        x = generalized_inverse_anscombe(y, gain=3.5, offset=100.0, sigma=4.0)
    assert x.dtype == np.float32
    assert x[0] == x[1] == np.float32(100.0)
    assert np.all(x >= 100.0)


def test_scalars_and_round_trip_of_noiseless_values() -> None:
    y = generalized_anscombe(150.0, gain=3.5, offset=100.0, sigma=4.0)
    assert isinstance(y, np.float32)
    # For large signals the inverse of the transform of a value approaches the value.
    x = generalized_inverse_anscombe(generalized_anscombe(5000.0, 2.0, 10.0), 2.0, 10.0)
    assert float(x) == pytest.approx(5000.0, rel=1e-3)


def test_dask_in_dask_out_lazy_and_equal_to_numpy() -> None:
    rng = np.random.default_rng(1)
    x = (3.5 * rng.poisson(20.0, (40, 32, 32)) + 100 + rng.normal(0, 4, (40, 32, 32)))
    calls = {"n": 0}

    def counting(block: np.ndarray) -> np.ndarray:
        calls["n"] += block.size > 0  # dask may probe with an empty block for metadata
        return block

    dx = da.from_array(x, chunks=(10, 32, 32)).map_blocks(counting, dtype=x.dtype)
    with dask.config.set(scheduler="synchronous"):
        y = generalized_anscombe(dx, *POISSON_GAUSSIAN)
        back = generalized_inverse_anscombe(y, *POISSON_GAUSSIAN)
        assert isinstance(y, da.Array) and isinstance(back, da.Array)
        assert y.dtype == np.float32 and back.dtype == np.float32
        assert calls["n"] == 0, "building the graph must not compute anything"
        np.testing.assert_allclose(y.compute(), generalized_anscombe(x, *POISSON_GAUSSIAN),
                                   rtol=1e-6)
        np.testing.assert_allclose(
            back.compute(),
            generalized_inverse_anscombe(generalized_anscombe(x, *POISSON_GAUSSIAN),
                                         *POISSON_GAUSSIAN),
            rtol=1e-6,
        )
    assert calls["n"] > 0


def test_rejects_nonpositive_gain() -> None:
    with pytest.raises(ValueError, match="gain"):
        generalized_anscombe(np.ones(3), gain=0.0)
    with pytest.raises(ValueError, match="gain"):
        generalized_inverse_anscombe(np.ones(3), gain=-1.0)
