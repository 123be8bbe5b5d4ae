"""Dividing one ROI's pixels in two by an image: Otsu or k-means, then connected parts.

Pixels are first put in two classes by their values: Otsu's threshold on a scalar image
(the correlation or mean image), 2-means on standardized vectors of a multi-channel one
(``(height, width, k)``). The classes alone would leave speckle, so each part grows from
one connected seed instead:

* scalar image with two sizable bright blobs (two touching cells, the usual reason to
  split): the two largest bright blobs are the seeds, and the remaining pixels flood
  from them down the image (watershed on the negated image), so the border falls in the
  dim valley between the cells;
* otherwise (a cell and a dimmer appendage, or vector features): the largest connected
  component of each class is a seed.

Every other pixel joins the seed that floods to it first (pixels the flood cannot reach,
in a separate piece of the ROI, join the nearest part). So each part is connected when
the ROI is.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label as connected
from skimage.segmentation import watershed

from ._errors import CurationError

__all__ = ["split_pixels"]


def _classes(values: np.ndarray) -> np.ndarray:
    """0/1 class of each pixel (1: bright for a scalar image)."""
    if values.shape[1] == 1:
        v = values[:, 0]
        if v.min() == v.max():
            raise CurationError("the image is uniform inside the ROI: there is nothing to "
                                "split on; split by a line instead")
        return (v > threshold_otsu(v)).astype(np.int8)
    spread = values.std(axis=0)
    if not np.any(spread > 0):
        raise CurationError("the features are uniform inside the ROI: there is nothing to "
                            "split on; split by a line instead")
    from sklearn.cluster import KMeans

    scaled = (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return KMeans(n_clusters=2, n_init=10, random_state=0).fit(scaled).labels_.astype(np.int8)


def _largest(components: np.ndarray, count: int) -> list[np.ndarray]:
    """Masks of the ``count`` largest labelled components, largest first."""
    sizes = np.bincount(components.ravel())[1:]
    order = np.argsort(-sizes, kind="stable")[:count]
    return [components == k + 1 for k in order if sizes[k] > 0]


def split_pixels(pixels: np.ndarray, shape: tuple[int, int], image: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Two parts of one ROI's flat pixel indices, divided by ``image``.

    Parameters
    ----------
    pixels : ndarray of int
        Flat row-major indices of the ROI, sorted.
    shape : tuple of int
        Frame shape ``(height, width)``.
    image : ndarray, shape (height, width) or (height, width, k)
        Per-pixel value (correlation or mean image) or feature vector.

    Returns
    -------
    tuple of ndarray of int32
        The two parts' flat indices, sorted; either may be empty when the image does not
        divide the ROI (the caller decides what that means).
    """
    if pixels.size < 2:
        raise CurationError("a one-pixel ROI cannot be split")
    ys, xs = np.divmod(np.asarray(pixels, np.int64), shape[1])
    values = np.asarray(image, np.float64)[ys, xs].reshape(pixels.size, -1)
    if not np.all(np.isfinite(values)):
        raise CurationError("the image has NaN or infinite values inside the ROI")
    classes = _classes(values)

    y0, x0 = ys.min(), xs.min()
    box = (int(ys.max() - y0) + 1, int(xs.max() - x0) + 1)
    local = (ys - y0, xs - x0)
    inside = np.zeros(box, bool)
    inside[local] = True
    klass = np.full(box, -1, np.int8)
    klass[local] = classes

    scalar = values.shape[1] == 1
    bright = _largest(connected(klass == 1, connectivity=1), 2)
    sizable = max(3, round(0.1 * pixels.size))
    if scalar and len(bright) == 2 and bright[1].sum() >= sizable:
        seeds = bright
    else:
        seeds = [_largest(connected(klass == k, connectivity=1), 1)[0] for k in (0, 1)]
    markers = np.zeros(box, np.int32)
    for k, seed in enumerate(seeds, start=1):
        markers[seed] = k
    elevation = np.zeros(box)  # vectors: flat, so the flood goes by geodesic distance
    if scalar:
        elevation[local] = -values[:, 0]
    parts = watershed(elevation, markers, connectivity=1, mask=inside)
    unreached = inside & (parts == 0)
    if unreached.any():  # a piece of the ROI not connected to either seed
        _, (iy, ix) = ndimage.distance_transform_edt(parts == 0, return_indices=True)
        parts[unreached] = parts[iy[unreached], ix[unreached]]
    which = parts[local]
    return (np.asarray(pixels[which == 1], np.int32), np.asarray(pixels[which == 2], np.int32))
