"""ImageJ / Fiji RoiSet zip files, read and written with ``roifile``.

Reading: polygon, freehand, traced, rectangle, oval and composite ROIs become masks. ImageJ
coordinates are pixel corners (pixel ``(y, x)`` spans ``[x, x + 1) x [y, y + 1)``) and a
pixel belongs to a ROI when its centre lies inside the outline
(:func:`skimage.draw.polygon` on the coordinates shifted by half a pixel); the loops of a
composite ROI combine even-odd, so holes stay holes. The ROI's group (ImageJ's ROI
Manager "group") gives the label when it is 1 (cell), 2 (not cell) or 3 (unsure).

Writing: each ROI's outline, traced by :func:`skimage.measure.find_contours` on the mask
upsampled twice (so the outline runs along pixel edges, with corners cut by a quarter
pixel, which never moves a pixel centre across it), as a freehand ROI, or a composite
ROI when the mask has several pieces or holes. Reading the file back gives the same
masks and labels.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import roifile
from roifile import ROI_TYPE, ImagejRoi
from skimage.draw import polygon
from skimage.measure import approximate_polygon, find_contours

from ..rois import SummaryImages
from ._errors import CurationError
from ._roiset import LABELS, RoiSet

__all__ = ["read_imagej", "write_imagej"]

_AREA_TYPES = (ROI_TYPE.POLYGON, ROI_TYPE.FREEHAND, ROI_TYPE.TRACED, ROI_TYPE.RECT,
               ROI_TYPE.OVAL)
_GROUPS = {label: group for group, label in enumerate(LABELS, start=1)}  # cell 1, ...
_MOVETO, _LINETO, _CLOSE = 0, 1, 4


def _rasterize(loops: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Flat indices of the pixels whose centres lie inside the loops (even-odd)."""
    inside = np.zeros(shape, bool)
    for loop in loops:
        x, y = loop[:, 0].astype(np.float64), loop[:, 1].astype(np.float64)
        rr, cc = polygon(y - 0.5, x - 0.5, shape)
        inside[rr, cc] ^= True
    return np.flatnonzero(inside)


def read_imagej(path: str | os.PathLike, shape: tuple[int, int], *,
                images: SummaryImages | None = None) -> RoiSet:
    """The ROIs of an ImageJ RoiSet ``.zip`` (or one ``.roi``) on a recording's frame.

    Parameters
    ----------
    path : path
    shape : tuple of int
        The recording's frame shape ``(height, width)``; a ROI reaching outside it means
        the file belongs to another recording (CurationError naming both sizes).
    images : SummaryImages, optional
        For the image metrics.

    Returns
    -------
    RoiSet
        Origin ``"imported"``, labels from the ROI groups (``"cell"`` otherwise).
    """
    path = Path(path)
    shape = (int(shape[0]), int(shape[1]))
    try:
        found = roifile.roiread(path)
    except ValueError as error:
        raise CurationError(f"{path} is not an ImageJ ROI file ({error})") from None
    found = [found] if isinstance(found, ImagejRoi) else list(found)
    pixels, labels = [], []
    for i, roi in enumerate(found):
        name = roi.name or f"#{i}"
        if not (roi.composite or roi.roitype in _AREA_TYPES):
            raise CurationError(
                f"ImageJ ROI {name!r} in {path.name} is a {roi.roitype.name.lower()} ROI; "
                f"only area ROIs (polygon, freehand, traced, rectangle, oval, composite) "
                f"can become masks")
        loops = roi.coordinates(multi=True)
        corners = np.concatenate(loops)
        right, bottom = float(corners[:, 0].max()), float(corners[:, 1].max())
        if corners.min() < 0 or right > shape[1] or bottom > shape[0]:
            raise CurationError(
                f"ImageJ ROI {name!r} in {path.name} reaches x={right:g}, y={bottom:g}, "
                f"outside the recording's {shape[0]}x{shape[1]} frames (width {shape[1]}, "
                f"height {shape[0]}): the file is for frames of at least "
                f"{max(int(np.ceil(bottom)), shape[0])}x{max(int(np.ceil(right)), shape[1])}")
        inside = _rasterize(loops, shape)
        if inside.size == 0:
            raise CurationError(f"ImageJ ROI {name!r} in {path.name} covers no pixel centre")
        pixels.append(inside)
        labels.append(LABELS[roi.group - 1] if 1 <= roi.group <= len(LABELS) else "cell")
    return RoiSet.from_pixels(shape, pixels, labels=labels, images=images, origin="imported")


def _outline(mask: np.ndarray) -> list[np.ndarray]:
    """Closed loops (k, 2) of ``(x, y)`` corner coordinates around a mask's pixels."""
    up = np.pad(np.kron(mask, np.ones((2, 2), np.uint8)).astype(np.float32), 1)
    loops = []
    for contour in find_contours(up, 0.5):
        # padded, upsampled centre coordinate u -> pixel-corner coordinate (u - 1 + 0.5) / 2
        corners = approximate_polygon((contour - 0.5) / 2.0, tolerance=0.01)
        loops.append(corners[:-1, ::-1])  # (row, col) -> (x, y); ImageJ closes it
    return loops


def _imagej_roi(loops: list[np.ndarray], name: str) -> ImagejRoi:
    if len(loops) == 1:
        return ImagejRoi.frompoints(loops[0].astype(np.float32), name=name)
    roi = ImagejRoi()
    roi.roitype = ROI_TYPE.RECT
    path = []
    for loop in loops:
        path += [_MOVETO, *loop[0]]
        for x, y in loop[1:]:
            path += [_LINETO, x, y]
        path.append(_CLOSE)
    roi.multi_coordinates = np.asarray(path, np.float32)
    roi.shape_roi_size = len(path)
    corners = np.concatenate(loops)
    roi.left, roi.top = (int(np.floor(v)) for v in corners.min(axis=0))
    roi.right, roi.bottom = (int(np.ceil(v)) for v in corners.max(axis=0))
    roi.name = name
    return roi


def write_imagej(roiset: RoiSet, path: str | os.PathLike) -> Path:
    """Write ``roiset`` as an ImageJ RoiSet zip at ``path`` (replacing it).

    ROI ``i`` is named ``roi-<i>`` (zero-padded) and its group is 1 (cell), 2 (not cell)
    or 3 (unsure).
    """
    path = Path(path)
    width = len(str(max(len(roiset) - 1, 0)))
    found = []
    for i, roi in enumerate(roiset):
        ys, xs = roiset.coords(i)
        y0, x0 = int(ys.min()), int(xs.min())
        mask = np.zeros((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), bool)
        mask[ys - y0, xs - x0] = True
        loops = [loop + (x0, y0) for loop in _outline(mask)]
        imagej = _imagej_roi(loops, f"roi-{i:0{width}d}")
        imagej.group = _GROUPS[roi.label]
        found.append(imagej)
    path.parent.mkdir(parents=True, exist_ok=True)
    roifile.roiwrite(path, found, mode="w")
    return path
