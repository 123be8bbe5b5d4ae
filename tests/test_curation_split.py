"""Dividing one ROI in two by an image: Otsu or k-means, parts grown from connected seeds."""

from __future__ import annotations

import numpy as np
import pytest
from curation_helpers import SHAPE, blobs, disk_mask
from skimage.measure import label

from napari_photon.curation import CurationError
from napari_photon.curation._split import split_pixels


def _mask(pixels: np.ndarray) -> np.ndarray:
    flat = np.zeros(SHAPE[0] * SHAPE[1], bool)
    flat[pixels] = True
    return flat.reshape(SHAPE)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


def _check_partition(pixels, a, b) -> None:
    assert a.dtype == np.int32 and b.dtype == np.int32
    assert np.all(np.diff(a) > 0) and np.all(np.diff(b) > 0)
    assert np.intersect1d(a, b).size == 0
    assert np.array_equal(np.union1d(a, b), pixels)


def test_two_touching_cells_come_apart_along_the_dim_valley():
    left, right = disk_mask((20, 20), 6), disk_mask((20, 31), 6)
    pixels = np.flatnonzero(left | right)
    image = blobs([(20, 20), (20, 31)], sigma=3.0)
    a, b = split_pixels(pixels, SHAPE, image)
    _check_partition(pixels, a, b)
    parts = sorted([_mask(a), _mask(b)], key=lambda m: np.argwhere(m)[:, 1].mean())
    assert _iou(parts[0], left) > 0.8 and _iou(parts[1], right) > 0.8
    for part in parts:
        assert label(part, connectivity=1).max() == 1  # each part in one piece


def test_a_cell_with_a_dim_appendage_splits_into_cell_and_appendage():
    cell = disk_mask((24, 20), 6)
    tail = np.zeros(SHAPE, bool)
    tail[22:27, 26:45] = True
    pixels = np.flatnonzero(cell | tail)
    image = blobs([(24, 20)], sigma=4.0) + 0.02
    a, b = split_pixels(pixels, SHAPE, image)
    _check_partition(pixels, a, b)
    with_centre = _mask(a) if _mask(a)[24, 20] else _mask(b)
    other = _mask(b) if _mask(a)[24, 20] else _mask(a)
    assert with_centre[24, 20] and other[24, 40]
    assert label(with_centre, connectivity=1).max() == 1
    assert label(other, connectivity=1).max() == 1


def test_feature_vectors_split_by_two_means_deterministically():
    cell = disk_mask((20, 20), 7)
    pixels = np.flatnonzero(cell)
    features = np.zeros((*SHAPE, 2), np.float32)
    features[:, :20, 0] = 1.0  # left half differs in channel 0 ...
    features[:, 20:, 1] = 3.0  # ... right half in channel 1
    a, b = split_pixels(pixels, SHAPE, features)
    _check_partition(pixels, a, b)
    left = np.flatnonzero(cell & (np.arange(SHAPE[1]) < 20)[None, :])
    assert np.array_equal(a, left) or np.array_equal(b, left)
    again = split_pixels(pixels, SHAPE, features)
    assert np.array_equal(again[0], a) and np.array_equal(again[1], b)


def test_pieces_without_a_seed_join_the_nearest_part():
    bright, dim, small = disk_mask((10, 10), 4), disk_mask((10, 40), 5), disk_mask((30, 12), 2)
    pixels = np.flatnonzero(bright | dim | small)
    image = np.where(bright, 1.0, 0.1).astype(np.float32)
    a, b = split_pixels(pixels, SHAPE, image)
    _check_partition(pixels, a, b)  # the small piece is in a part too
    with_small = _mask(a) if _mask(a)[30, 12] else _mask(b)
    assert with_small[10, 10]  # nearest seed: the bright disk


def test_images_that_cannot_split_are_refused():
    pixels = np.flatnonzero(disk_mask((20, 20), 5))
    with pytest.raises(CurationError, match="uniform inside the ROI"):
        split_pixels(pixels, SHAPE, np.ones(SHAPE))
    with pytest.raises(CurationError, match="features are uniform"):
        split_pixels(pixels, SHAPE, np.ones((*SHAPE, 3)))
    with pytest.raises(CurationError, match="one-pixel ROI"):
        split_pixels(pixels[:1], SHAPE, blobs([(20, 20)]))
    image = blobs([(20, 20)])
    image[20, 20] = np.nan
    with pytest.raises(CurationError, match="NaN"):
        split_pixels(pixels, SHAPE, image)
