"""Metrics of new or changed ROIs, from their pixels and the summary images.

The detection's own :func:`napari_photon.rois.roi_metrics` does the measuring, on a window
around each ROI instead of the whole frame: the window holds the ROI, the ring of pixels
around it that ``contrast`` looks at, and the other ROIs there (as one extra mask, so the
ring leaves them out as it does in the detection). The values equal those of
``roi_metrics`` over the whole set; only the ROIs an action made are measured.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..rois import SummaryImages, roi_metrics

__all__ = ["assemble", "measure", "metric_names", "union"]


def metric_names(images: SummaryImages | None = None) -> tuple[str, ...]:
    """Names of the metrics :func:`measure` gives (shape only without ``images``)."""
    height, width = (1, 1) if images is None else images.mean.shape
    return tuple(roi_metrics(np.zeros((0, height, width), bool), images))


def _window(ys: np.ndarray, xs: np.ndarray, area: int, shape: tuple[int, int]
            ) -> tuple[slice, slice]:
    # roi_metrics looks max(2, round(radius)) pixels around the ROI's bounding box
    margin = max(2, round(math.sqrt(area / math.pi))) + 1
    return (slice(max(0, int(ys.min()) - margin), min(shape[0], int(ys.max()) + margin + 1)),
            slice(max(0, int(xs.min()) - margin), min(shape[1], int(xs.max()) + margin + 1)))


def _crop(images: SummaryImages, window: tuple[slice, slice]) -> SummaryImages:
    return dataclasses.replace(
        images, mean=images.mean[window], max=images.max[window], std=images.std[window],
        correlation=images.correlation[window],
        activity=None if images.activity is None else images.activity[window])


def union(pixels: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Bool (height, width): the pixels of any of the given ROIs."""
    flat = np.zeros(int(shape[0]) * int(shape[1]), bool)
    if len(pixels):
        flat[np.concatenate([np.asarray(p) for p in pixels])] = True
    return flat.reshape(shape)


def measure(pixels: Sequence[np.ndarray], shape: tuple[int, int],
            images: SummaryImages | None = None, coverage: np.ndarray | None = None
            ) -> dict[str, np.ndarray]:
    """Metrics of each ROI given by its flat pixel indices.

    Parameters
    ----------
    pixels : sequence of int arrays
        Flat row-major pixel indices of each ROI to measure.
    shape : tuple of int
        Frame shape ``(height, width)``.
    images : SummaryImages, optional
        For the image metrics (left out without it).
    coverage : ndarray of bool, shape (height, width), optional
        Pixels covered by any ROI of the whole set: ``contrast``'s ring leaves them out.
        Default: the :func:`union` of ``pixels``.

    Returns
    -------
    dict of str -> ndarray of shape (len(pixels),)
        As :func:`napari_photon.rois.roi_metrics` over the whole set.
    """
    height, width = int(shape[0]), int(shape[1])
    n = len(pixels)
    # the names and dtypes roi_metrics gives (NaN floats, zero integers)
    pixel = (slice(0, 1), slice(0, 1))
    out = roi_metrics(np.zeros((n, 1, 1), bool), None if images is None else _crop(images, pixel))
    if images is not None and coverage is None:
        coverage = union(pixels, (height, width))
    for i, roi_pixels in enumerate(pixels):
        ys, xs = np.divmod(np.asarray(roi_pixels, np.int64), width)
        if ys.size == 0:
            continue
        window = _window(ys, xs, ys.size, (height, width))
        y0, x0 = window[0].start, window[1].start
        size = (window[0].stop - y0, window[1].stop - x0)
        stack = np.zeros((2 if images is not None else 1, *size), bool)
        stack[0, ys - y0, xs - x0] = True
        if images is not None:
            stack[1] = coverage[window] & ~stack[0]
        found = roi_metrics(stack, None if images is None else _crop(images, window))
        for name in out:
            out[name][i] = found[name][0]
        out["centroid_y"][i] += y0
        out["centroid_x"][i] += x0
        out["touches_border"][i] = (ys.min() == 0 or xs.min() == 0 or ys.max() == height - 1
                                    or xs.max() == width - 1)
    return out


def assemble(old: Mapping[str, np.ndarray], take: np.ndarray, positions: Sequence[int],
             new: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Metric columns of a derived set.

    Row ``i`` is ``old[name][take[i]]``, except at ``positions`` (new or changed ROIs),
    which get ``new[name]`` in order, or NaN where ``new`` lacks the name (a column of
    integers or booleans then becomes float64). The names are those of ``old``.
    """
    take = np.asarray(take, np.intp)
    positions = np.asarray(positions, np.intp)
    columns = {}
    for name, column in old.items():
        values = column[np.maximum(take, 0)] if len(column) else np.zeros(len(take),
                                                                          column.dtype)
        fill = new.get(name)
        if len(positions):
            if fill is None:
                values = values.astype(np.result_type(values.dtype, np.float32), copy=False)
                values[positions] = np.nan
            else:
                values[positions] = fill
        values.setflags(write=False)
        columns[name] = values
    return columns
