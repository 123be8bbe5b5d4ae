"""Cubic-convolution sub-pixel shifts (motion._interpolate)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_photon.motion import _engine as E
from napari_photon.motion._interpolate import cubic_shift_frames, keys_weights


def smooth(shape=(64, 80), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (ndimage.gaussian_filter(rng.standard_normal(shape), 3.0) * 40 + 50).astype(
        np.float32)


def test_weights_interpolate_and_sum_to_one():
    np.testing.assert_allclose(keys_weights(0.0), [0, 1, 0, 0], atol=1e-7)
    for t in (0.1, 0.5, 0.9):
        w = keys_weights(t)
        assert w.sum() == pytest.approx(1.0, abs=1e-6)
        assert w[1] > 0 and w[2] > 0 and w[0] <= 0 and w[3] <= 0


@pytest.mark.parametrize("shift", [(0.3, -1.7), (2.5, 0.0), (-3.25, 4.6), (0.0, 0.5),
                                   (7.9, -6.1)])
def test_matches_spline_interpolation_inside_the_frame(shift):
    img = smooth()
    ours = cubic_shift_frames(img[None], np.array([shift]))[0]
    spline = ndimage.shift(img, shift, order=3, mode="nearest")
    m = 10
    err = np.abs(ours - spline)[m:-m, m:-m].max()
    assert err < 0.01 * np.ptp(img), (shift, err)


def test_whole_pixel_shift_is_an_exact_copy_with_nearest_edges():
    img = smooth()
    out = cubic_shift_frames(img[None], np.array([[2.0, -3.0]]))[0]
    np.testing.assert_array_equal(out[2:, :-3], img[:-2, 3:])
    np.testing.assert_array_equal(out[:2, :-3], np.repeat(img[:1, 3:], 2, axis=0))
    np.testing.assert_array_equal(out[2:, -3:], np.repeat(img[:-2, -1:], 3, axis=1))


def test_no_wrap_around_and_edges_repeat_the_nearest_clean_row():
    frame = np.full((48, 48), 10.0, np.float32)
    frame[44:, 20] = 500.0  # bright at the bottom
    out = cubic_shift_frames(frame[None], np.array([[4.4, 0.0]]))[0]
    assert out[:6].max() == pytest.approx(10.0)  # nothing from the bottom enters at the top
    assert np.all(out[:6] == out[6])  # the rows entering repeat the first computed row


def test_moved_out_of_the_frame_fills_with_the_edge():
    img = smooth((16, 16))
    out = cubic_shift_frames(img[None], np.array([[40.3, 0.0]]))[0]
    np.testing.assert_array_equal(out, np.repeat(img[:1], 16, axis=0))


def test_in_place_and_zero_shift():
    frames = np.stack([smooth(seed=1), smooth(seed=2)])
    expected = cubic_shift_frames(frames, np.array([[1.5, -0.5], [0.0, 0.0]]))
    work = frames.copy()
    cubic_shift_frames(work, np.array([[1.5, -0.5], [0.0, 0.0]]), out=work)
    np.testing.assert_array_equal(work, expected)
    np.testing.assert_array_equal(expected[1], frames[1])


def test_noise_is_smoothed_only_at_fractional_shifts():
    noise = np.random.default_rng(0).standard_normal((4, 96, 96)).astype(np.float32)
    half = cubic_shift_frames(noise, np.full((4, 2), 0.5))[:, 4:-4, 4:-4].var()
    whole = cubic_shift_frames(noise, np.full((4, 2), 1.0))[:, 4:-4, 4:-4].var()
    assert half == pytest.approx(np.sum(keys_weights(0.5) ** 2) ** 2, abs=0.02)
    assert whole == pytest.approx(1.0, abs=0.02)


def test_engine_selects_the_interpolation():
    img = smooth()[None]
    s = np.array([[0.5, 0.5]])
    cubic = E.apply_rigid(img, s)
    fourier = E.apply_rigid(img, s, "fourier")
    assert not np.array_equal(cubic, fourier)
    np.testing.assert_allclose(cubic[0, 8:-8, 8:-8], fourier[0, 8:-8, 8:-8],
                               atol=0.02 * np.ptp(img))
    with pytest.raises(ValueError, match="interpolation must be one of"):
        E.resolve_settings((10, 64, 64), interpolation="linear")
