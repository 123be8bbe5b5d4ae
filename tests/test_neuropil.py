"""Tests for napari_photon.neuropil: per-ROI contamination coefficients."""

from __future__ import annotations

import numpy as np
import pytest

from napari_photon import traces
from napari_photon.evaluation import true_neuropil_coefficients
from napari_photon.neuropil import estimate_coefficients
from napari_photon.synthetic import TUNING_SEEDS, make_tissue_movie


def _transients(rng: np.random.Generator, n: int, t: int, rate: float, tau: float) -> np.ndarray:
    spikes = rng.random((n, t)) < rate
    kernel = np.exp(-np.arange(int(6 * tau)) / tau)
    return np.stack([np.convolve(s, kernel)[:t] for s in spikes])


def _contaminated(seed: int, coefficients: np.ndarray, t: int = 3000):
    """F = own transients + c * N + shot-like noise, with bleaching on both."""
    rng = np.random.default_rng(seed)
    n = len(coefficients)
    bleach = np.linspace(1.0, 0.8, t)
    neuropil = (20 + 4 * _transients(rng, n, t, 0.02, 20)) * bleach
    own = 10 + 6 * _transients(rng, n, t, 0.01, 20)
    fluorescence = own * bleach + coefficients[:, None] * neuropil
    fluorescence += rng.normal(0, 0.8, (n, t))
    neuropil += rng.normal(0, 0.2, (n, t))
    return fluorescence, neuropil


def test_recovers_each_rois_coefficient() -> None:
    true = np.array([0.2, 0.5, 0.7, 0.9, 1.2])
    f, n = _contaminated(0, true)
    found = estimate_coefficients(f, n)
    assert found.dtype == np.float32 and found.shape == (5,)
    np.testing.assert_allclose(found, true, atol=0.08)
    # the cell's own transients pull a plain fit upwards; leaving them out is what helps
    plain = estimate_coefficients(f, n, threshold=np.inf, exclude_frames=0)
    assert np.abs(found - true).mean() < np.abs(plain - true).mean()


def test_one_dimensional_input_and_degenerate_rows() -> None:
    f, n = _contaminated(1, np.array([0.6]))
    assert estimate_coefficients(f[0], n[0]).shape == (1,)
    flat = np.ones((2, 100))
    np.testing.assert_array_equal(estimate_coefficients(flat, flat, initial=0.7), np.float32([0.7, 0.7]))
    np.testing.assert_array_equal(estimate_coefficients(f[:, :2], n[:, :2]), np.float32([0.7]))
    assert estimate_coefficients(np.zeros((0, 10)), np.zeros((0, 10))).shape == (0,)


def test_clipped_to_bounds() -> None:
    f, n = _contaminated(2, np.array([1.8]))
    assert estimate_coefficients(f, n, bounds=(0.0, 1.0))[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "f, n, message",
    [
        (np.ones((2, 10)), np.ones((3, 10)), "one shape"),
        (np.full((1, 10), np.nan), np.ones((1, 10)), "finite"),
    ],
)
def test_bad_input_is_named(f: np.ndarray, n: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_coefficients(f, n)


def test_bad_initial_is_named() -> None:
    with pytest.raises(ValueError, match="bounds"):
        estimate_coefficients(np.ones((1, 10)), np.ones((1, 10)), initial=3.0)


def test_closer_to_the_simulators_truth_than_a_fixed_coefficient() -> None:
    """On a small realistic movie, against the true contamination of each soma."""
    movie = make_tissue_movie(n_frames=1200, shape=(128, 128), n_cells=16, out_of_focus=6,
                              processes=6, neuropil_sources=8, max_shift=0.0, nonrigid=0.0,
                              seed=TUNING_SEEDS[1])
    result = traces.extract_all(movie.movie, movie.masks)
    true = true_neuropil_coefficients(movie.neuropil_in(movie.masks), result.neuropil)
    estimated_error = np.median(np.abs(result.coefficients - true))
    fixed_error = np.median(np.abs(0.7 - true))
    assert estimated_error < 0.6 * fixed_error
    # the traces carry them, and dF/F uses them
    fixed = traces.extract_all(movie.movie, movie.masks, neuropil_coefficient=0.7)
    np.testing.assert_array_equal(fixed.coefficients, np.float32(0.7))
    assert not np.allclose(result.dff, fixed.dff)
    np.testing.assert_allclose(
        result.corrected, result.fluorescence - result.coefficients[:, None] * result.neuropil)


def test_extract_all_names_a_bad_coefficient() -> None:
    with pytest.raises(ValueError, match="'auto'"):
        traces.extract_all(np.ones((5, 8, 8)), np.ones((1, 8, 8), bool),
                           neuropil_coefficient="estimate")
