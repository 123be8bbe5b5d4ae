"""How the curation dock shows the curated set (`_widgets/_curation_layers.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_photon._widgets._curation_layers import display_labels, label_colormap


@pytest.mark.parametrize("n", [1, 5, 300, 10_000, 65_535, 70_000])
def test_every_label_value_gets_its_own_row(n):
    rng = np.random.default_rng(n)
    table = rng.random((n + 1, 4)).astype(np.float32)
    table[0] = 0
    colormap = label_colormap(table)
    values = np.unique(np.concatenate([[0, 1, n], rng.integers(0, n + 1, 200)]))
    image = display_labels(values.astype(np.int32))
    np.testing.assert_allclose(colormap.map(image), table[values], atol=1e-6)


def test_an_empty_set_maps_everything_to_transparent():
    colormap = label_colormap(np.zeros((1, 4), np.float32))
    assert colormap.map(np.zeros(3, np.uint8))[:, 3].max() == 0


@pytest.mark.parametrize(
    ("top", "dtype"), [(0, np.uint8), (255, np.uint8), (256, np.uint16), (65_535, np.uint16),
                       (65_536, np.int32)],
)
def test_labels_are_held_in_the_smallest_dtype(top, dtype):
    image = np.array([[0, top]], dtype=np.int32)
    shown = display_labels(image)
    assert shown.dtype == dtype
    np.testing.assert_array_equal(shown, image)
