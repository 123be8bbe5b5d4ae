"""Small synthetic ROI sets and summary images for the curation tests.

Importable by the tests (``from curation_helpers import ...``) and by the child processes
of the draft tests, which rebuild the same set.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import disk

from napari_photon.curation import RoiSet
from napari_photon.rois import SummaryImages

SHAPE = (48, 64)
# 0 and 1 touch (one cell cut in two, or two cells), 2 and 3 overlap, 4 touches the
# border, 5 stands alone
CENTRES = [(12, 12), (12, 21), (34, 14), (36, 19), (3, 60), (30, 44)]
RADII = [5, 4, 5, 4, 4, 6]


def disk_mask(centre: tuple[float, float], radius: float, shape=SHAPE) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[disk(centre, radius, shape=shape)] = True
    return mask


def sample_masks(shape=SHAPE) -> np.ndarray:
    return np.array([disk_mask(c, r, shape) for c, r in zip(CENTRES, RADII)])


def blobs(centres, sigma: float = 2.5, shape=SHAPE) -> np.ndarray:
    """Sum of Gaussian blobs (float32), like a correlation image of the given cells."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    image = np.zeros(shape)
    for cy, cx in centres:
        image += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma ** 2))
    return image.astype(np.float32)


def sample_images(shape=SHAPE, seed: int = 1) -> SummaryImages:
    rng = np.random.default_rng(seed)
    correlation = blobs(CENTRES, shape=shape) * 0.8 + 0.05 * rng.random(shape)
    mean = 20 + 30 * blobs(CENTRES, 3.0, shape) + rng.random(shape)
    return SummaryImages(mean=mean.astype(np.float32), max=(mean * 2).astype(np.float32),
                         std=np.sqrt(mean).astype(np.float32),
                         correlation=correlation.astype(np.float32),
                         activity=(correlation * 3).astype(np.float32))


def sample_set(images: bool = True) -> RoiSet:
    """Six detected ROIs with metrics (image metrics too when ``images``)."""
    return RoiSet.from_masks(sample_masks(), images=sample_images() if images else None)


def dense_label_image(masks: np.ndarray) -> np.ndarray:
    """The label image by brute force: later masks painted over earlier ones."""
    image = np.zeros(masks.shape[1:], np.int32)
    for i, mask in enumerate(masks):
        image[mask] = i + 1
    return image


def scripted_actions() -> list[tuple[str, dict]]:
    """One of every action, in an order that is valid from :func:`sample_set`."""
    eraser = disk_mask((12, 12), 2)
    return [
        ("merge", {"ids": [0, 1]}),  # 5 ROIs: merged, then detected 2, 3, 4, 5
        ("split_by_line", {"roi_id": 4, "p0": (0, 42), "p1": (47, 42)}),  # 6 ROIs
        ("split_by_correlation", {"roi_id": 1}),  # 7 ROIs
        ("draw", {"mask": disk_mask((40, 56), 3)}),  # 8 ROIs
        ("erase", {"roi_id": 0, "mask": eraser}),
        ("set_label", {"ids": [1, 2], "label": "not cell"}),
        ("delete", {"ids": [3]}),  # 7 ROIs
        ("relabel_where", {"metric": "area", "op": "<", "value": 40, "label": "unsure"}),
    ]
