"""The synthetic sample: a stabilized movie and its ground-truth masks."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def sample():
    from napari_photon._sample_data import synthetic_sample

    return synthetic_sample()


def test_sample_layers(sample):
    from napari_photon._sample_data import (
        SAMPLE_FRAMES,
        SAMPLE_NEURONS,
        SAMPLE_SEED,
        SAMPLE_SHAPE,
    )
    from napari_photon.anscombe import generalized_anscombe
    from napari_photon.synthetic import make_movie

    (movie, movie_kwargs, movie_type), (labels, labels_kwargs, labels_type) = sample
    assert (movie_type, labels_type) == ("image", "labels")
    assert movie.shape == (SAMPLE_FRAMES, *SAMPLE_SHAPE) and movie.dtype == np.float32
    lo, hi = movie_kwargs["contrast_limits"]
    assert 0 <= lo < hi <= float(movie.max())

    truth = make_movie(SAMPLE_FRAMES, SAMPLE_SHAPE, n_neurons=SAMPLE_NEURONS, seed=SAMPLE_SEED)
    np.testing.assert_allclose(movie[::50], generalized_anscombe(truth.movie[::50]), rtol=1e-6)
    assert labels.shape == SAMPLE_SHAPE
    assert int(labels.max()) == len(truth.masks) == SAMPLE_NEURONS
    alone = truth.masks.sum(axis=0) == 1
    for i, mask in enumerate(truth.masks):
        assert mask.any()
        assert np.all(labels[mask & alone] == i + 1)
    assert np.all(labels[~truth.masks.any(axis=0)] == 0)
    assert labels_kwargs["metadata"]["n_neurons"] == SAMPLE_NEURONS


def test_sample_opens_in_viewer(make_napari_viewer):
    from napari.layers import Image, Labels

    viewer = make_napari_viewer()
    layers = viewer.open_sample("napari-photon", "synthetic_sample")
    assert [type(layer) for layer in layers] == [Image, Labels]
    image, labels = layers
    assert image.data.shape == (300, 256, 256)
    assert image.contrast_limits[1] > image.contrast_limits[0]
    assert labels.data.max() > 0
    assert len(viewer.layers) == 2
