"""Compiled per-frame kernels (motion._kernels) against plain NumPy definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_photon.motion import _kernels as K
from napari_photon.motion._interpolate import block_plans, cubic_shift_frames


def movie(n=5, shape=(70, 90), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.standard_normal((n, *shape)), (0, 3, 3)) * 30 + 40
    return (smooth + rng.standard_normal((n, *shape))).astype(np.float32)


def grid_reference(shape, margin, stride, seed=1):
    """A random reference on the QC grid, centred and of unit norm, as the kernels take it."""
    rows = len(range(margin, shape[0] - margin, stride))
    cols = len(range(margin, shape[1] - margin, stride))
    ref = np.random.default_rng(seed).standard_normal((rows, cols))
    ref -= ref.mean()
    return (ref / np.linalg.norm(ref)).astype(np.float32)


def pearson_on_grid(frame, ref, margin, stride):
    rows, cols = ref.shape
    pixels = frame[margin:margin + rows * stride:stride, margin:margin + cols * stride:stride]
    return np.corrcoef(pixels.ravel().astype(np.float64), ref.ravel())[0, 1]


@pytest.mark.parametrize("margin,stride", [(3, 2), (0, 1), (5, 3)])
def test_correlation_is_pearson_on_the_grid(margin, stride):
    frames = movie()
    ref = grid_reference(frames.shape[1:], margin, stride)
    ref_image = np.zeros(frames.shape[1:], np.float32)  # a frame that is the reference
    rows, cols = ref.shape
    ref_image[margin:margin + rows * stride:stride, margin:margin + cols * stride:stride] = ref
    assert K.correlation(ref_image * 3 + 7, ref, margin, stride) == pytest.approx(1.0, abs=1e-6)
    for frame in frames:
        assert K.correlation(frame, ref, margin, stride) == pytest.approx(
            pearson_on_grid(frame, ref, margin, stride), abs=1e-6)


def test_a_flat_frame_correlates_zero():
    ref = grid_reference((32, 32), 2, 2)
    assert K.correlation(np.full((32, 32), 5.0, np.float32), ref, 2, 2) == 0.0


@pytest.mark.parametrize("factor,shape", [(2, (70, 90)), (2, (71, 89)), (3, (70, 90))])
def test_binning_sums_blocks_and_drops_odd_edges(factor, shape):
    frame = movie(1, shape)[0]
    hb, wb = shape[0] // factor, shape[1] // factor
    out = np.empty((hb, wb), np.float32)
    corr = K.bin_and_correlate(frame, factor, out)
    expected = frame[:hb * factor, :wb * factor].reshape(hb, factor, wb, factor).sum(axis=(1, 3))
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert np.isnan(corr)  # no reference given: no correlation


def test_binning_also_gives_the_correlation():
    frame = movie(1)[0]
    ref = grid_reference(frame.shape, 4, 2)
    out = np.empty((35, 45), np.float32)
    corr = K.bin_and_correlate(frame, 2, out, ref, 4, 2)
    assert corr == pytest.approx(pearson_on_grid(frame, ref, 4, 2), abs=1e-6)


@pytest.mark.parametrize("shifts", [[[0.3, -1.7], [2.0, 3.0], [-4.6, 0.5], [0.0, 0.0],
                                     [30.2, 1.1]]])
def test_correct_block_is_shift_then_projections_then_correlation(shifts):
    frames = movie()
    shifts = np.array(shifts)
    margin, stride = 4, 2
    ref = grid_reference(frames.shape[1:], margin, stride)
    out = np.empty_like(frames)
    total = np.full(frames.shape[1:], 10.0)  # adds to what is there
    top = np.full(frames.shape[1:], -np.inf, np.float32)
    corr = K.correct_block(frames, out, *block_plans(frames.shape[1:], shifts), total, top,
                           ref, margin, stride)
    shifted = np.stack([ndimage.shift(f, s, order=3, mode="nearest") for f, s in
                        zip(frames, shifts)])
    inside = (slice(None), slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(out[:4][inside], shifted[:4][inside], atol=0.02 * np.ptp(frames))
    np.testing.assert_array_equal(out, cubic_shift_frames(frames, shifts))
    np.testing.assert_allclose(total, 10.0 + out.sum(axis=0, dtype=np.float64), rtol=1e-6)
    np.testing.assert_array_equal(top, out.max(axis=0))
    expected = [pearson_on_grid(f, ref, margin, stride) for f in out]
    np.testing.assert_allclose(corr, expected, atol=1e-6)
    assert corr.dtype == np.float32


def test_shift_frame_of_a_non_contiguous_output():
    frames = movie(2)
    out = np.zeros((2, 70, 180), np.float32)[:, :, ::2]  # strided rows
    w, i = block_plans(frames.shape[1:], np.array([[1.5, -0.25], [0.0, 2.0]]))
    for k in range(2):
        K.shift_frame(frames[k], out[k], w[k], i[k])
    np.testing.assert_array_equal(out, cubic_shift_frames(frames, np.array([[1.5, -0.25],
                                                                            [0.0, 2.0]])))
