"""Curation actions: pure functions from a :class:`RoiSet` to a new one.

Each action checks all of its input before it builds anything, raises
:class:`CurationError` for bad input (the set is immutable, so nothing changed), and
returns a new set that shares every ROI it did not touch. An action that would change
nothing (labelling ROIs with the label they have) returns the same set object.

Where ROIs go (``roi_id`` is the position in the set):

* ``set_label``, ``relabel_where``, ``erase``: in place; no id changes.
* ``merge``: the merged ROI takes the lowest of the merged ids; the other merged ROIs are
  removed, so ids above each removed one move down by one.
* ``delete``: the ROIs are removed; ids above each removed one move down.
* ``split_by_line``, ``split_by_correlation``: the larger part keeps the id, the smaller
  is appended (id ``len(set)``); no other id changes.
* ``draw``: appended.

ROIs keep their identity through :attr:`CuratedRoi.sources` (ids in the detected set),
which no action rewrites for a ROI it did not touch.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ._errors import CurationError
from ._metrics import assemble, measure, union
from ._roiset import CuratedRoi, RoiSet, check_label, frozen_pixels
from ._split import split_pixels

__all__ = [
    "ACTIONS",
    "OPERATORS",
    "count_relabel",
    "delete",
    "draw",
    "erase",
    "merge",
    "relabel_where",
    "set_label",
    "split_by_correlation",
    "split_by_line",
]

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}
"""Comparisons :func:`relabel_where` accepts."""

# merge keeps the most positive verdict of its parts
_MERGED_LABEL_ORDER = ("cell", "unsure", "not cell")


def _selection(roiset: RoiSet, ids: Any, action: str, minimum: int = 1) -> list[int]:
    """Sorted unique ids of a selection, checked against ``roiset``."""
    if isinstance(ids, (int, np.integer)) and not isinstance(ids, (bool, np.bool_)):
        ids = [ids]
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise CurationError(f"{action} takes a list of ROI ids, not {ids!r}")
    checked = sorted({roiset.check_id(i) for i in ids})
    if len(checked) < minimum:
        need = "one ROI" if minimum == 1 else f"at least {minimum} different ROIs"
        got = "none" if not checked else f"only ROI {checked[0]}"
        raise CurationError(f"{action} needs {need} selected; got {got}")
    return checked


def _mask_pixels(roiset: RoiSet, mask: Any, action: str) -> np.ndarray:
    """Flat indices of a bool mask of the frame's shape or of (k, 2) ``(y, x)`` pixels."""
    height, width = roiset.shape
    expected = (f"a bool mask of the frame's shape {roiset.shape} or a (k, 2) integer "
                f"array of (y, x) pixels")
    array = np.asarray(mask)
    if array.dtype == bool:
        if array.shape != roiset.shape:
            raise CurationError(f"the {action} mask has shape {array.shape}, but the frame is "
                                f"{height}x{width}: give {expected}")
        pixels = np.flatnonzero(array)
    elif array.dtype.kind in "iu" and array.ndim == 2 and array.shape[1] == 2:
        ys, xs = array[:, 0].astype(np.int64), array[:, 1].astype(np.int64)
        outside = (ys < 0) | (ys >= height) | (xs < 0) | (xs >= width)
        if outside.any():
            k = int(np.argmax(outside))
            raise CurationError(
                f"the {action} pixel (y={ys[k]}, x={xs[k]}) lies outside the {height}x{width} "
                f"frame: y goes from 0 to {height - 1}, x from 0 to {width - 1}")
        pixels = np.unique(ys * width + xs)
    else:
        raise CurationError(f"the {action} mask is {array.dtype} of shape {array.shape}: "
                            f"give {expected}")
    if pixels.size == 0:
        raise CurationError(f"the {action} mask is empty: it selects no pixel")
    return frozen_pixels(pixels)


def _rebuild(roiset: RoiSet, rois: list[CuratedRoi], take: np.ndarray,
             positions: Sequence[int]) -> RoiSet:
    """The derived set: ``take[i]`` is the old row of ROI ``i``; ``positions`` are new."""
    take = np.array(take, np.intp)
    take[list(positions)] = -1
    measured: dict[str, np.ndarray] = {}
    if roiset.metrics and positions:
        coverage = None if roiset.images is None else union([r.pixels for r in rois],
                                                             roiset.shape)
        measured = measure([rois[p].pixels for p in positions], roiset.shape, roiset.images,
                           coverage)
    return roiset._derive(tuple(rois), assemble(roiset.metrics, take, positions, measured))


def set_label(roiset: RoiSet, ids: Iterable[int] | int, label: str) -> RoiSet:
    """Label the ROIs ``ids`` (one of ``"cell"``, ``"not cell"``, ``"unsure"``)."""
    label = check_label(label)
    ids = _selection(roiset, ids, "set_label")
    changed = [i for i in ids if roiset.rois[i].label != label]
    if not changed:
        return roiset
    rois = list(roiset.rois)
    for i in changed:
        rois[i] = rois[i].with_label(label)
    return roiset._derive(tuple(rois), roiset.metrics)


def merge(roiset: RoiSet, ids: Iterable[int]) -> RoiSet:
    """One ROI from the union of the ROIs ``ids`` (two or more).

    The merged ROI (origin ``"merged"``) takes the lowest of ``ids``, its sources are the
    union of theirs, its label the most positive of theirs (cell, then unsure, then not
    cell); the other merged ROIs are removed. Metrics are measured for it alone.
    """
    ids = _selection(roiset, ids, "merge", minimum=2)
    parts = [roiset.rois[i] for i in ids]
    pixels = frozen_pixels(np.unique(np.concatenate([p.pixels for p in parts])))
    label = next(lb for lb in _MERGED_LABEL_ORDER if any(p.label == lb for p in parts))
    sources = tuple(sorted(set().union(*(p.sources for p in parts))))
    keep = np.ones(len(roiset), bool)
    keep[ids[1:]] = False
    take = np.flatnonzero(keep)
    rois = [roiset.rois[i] for i in take]
    rois[ids[0]] = CuratedRoi(pixels, label, "merged", sources)
    return _rebuild(roiset, rois, take, [ids[0]])


def _split_into(roiset: RoiSet, roi_id: int, a: np.ndarray, b: np.ndarray, how: str
                ) -> RoiSet:
    if a.size == 0 or b.size == 0:
        raise CurationError(f"splitting ROI {roi_id} {how} would leave an empty part: all "
                            f"{a.size + b.size} pixels fall on one side")
    if (a.size, -int(a[0])) < (b.size, -int(b[0])):  # larger part first; ties: lowest pixel
        a, b = b, a
    parent = roiset.rois[roi_id]
    rois = list(roiset.rois)
    rois[roi_id] = CuratedRoi(frozen_pixels(a), parent.label, "split", parent.sources)
    rois.append(CuratedRoi(frozen_pixels(b), parent.label, "split", parent.sources))
    take = np.append(np.arange(len(roiset)), -1)
    return _rebuild(roiset, rois, take, [roi_id, len(roiset)])


def split_by_line(roiset: RoiSet, roi_id: int, p0: Sequence[float], p1: Sequence[float]
                  ) -> RoiSet:
    """Split ROI ``roi_id`` by the line through points ``p0`` and ``p1``, each ``(y, x)``.

    Pixels (centres) on one side form one part, the others (and those on the line) the
    other. The larger part keeps ``roi_id``; the smaller is appended. Both keep the
    parent's label and sources, with origin ``"split"``.
    """
    roi_id = roiset.check_id(roi_id)
    try:
        (y0, x0), (y1, x1) = (tuple(float(v) for v in p) for p in (p0, p1))
    except (TypeError, ValueError):
        raise CurationError(f"a split line needs two (y, x) points, not {p0!r} and {p1!r}"
                            ) from None
    if (y0, x0) == (y1, x1):
        raise CurationError(f"the split line's two points are the same, ({y0}, {x0}): a "
                            f"line needs two different points")
    pixels = roiset.rois[roi_id].pixels
    ys, xs = np.divmod(pixels.astype(np.int64), roiset.shape[1])
    side = (x1 - x0) * (ys - y0) - (y1 - y0) * (xs - x0) >= 0
    return _split_into(roiset, roi_id, pixels[side], pixels[~side],
                       f"by the line through ({y0:g}, {x0:g}) and ({y1:g}, {x1:g})")


def split_by_correlation(roiset: RoiSet, roi_id: int, image: np.ndarray | None = None
                         ) -> RoiSet:
    """Split ROI ``roi_id`` in two by the values of ``image`` inside it.

    Parameters
    ----------
    roiset : RoiSet
    roi_id : int
    image : ndarray, shape (height, width) or (height, width, k), optional
        Per-pixel value (Otsu's threshold) or feature vector (2-means); default: the
        set's correlation image. Each part grows from one connected seed (see
        :mod:`._split`). The larger part keeps ``roi_id``; the smaller is appended.
    """
    roi_id = roiset.check_id(roi_id)
    if image is None:
        if roiset.images is None:
            raise CurationError("split_by_correlation needs an image: pass image= (the "
                                "correlation or mean image) or build the set with images=")
        image = roiset.images.correlation
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.shape[:2] != roiset.shape:
        raise CurationError(f"the split image has shape {image.shape}; expected the frame's "
                            f"{roiset.shape} or {roiset.shape} + (features,)")
    a, b = split_pixels(roiset.rois[roi_id].pixels, roiset.shape, image)
    return _split_into(roiset, roi_id, a, b, "by the image")


def draw(roiset: RoiSet, mask: Any, label: str = "cell") -> RoiSet:
    """Append a new ROI (origin ``"drawn"``, no sources) of the pixels of ``mask``.

    ``mask`` is a bool array of the frame's shape, or (k, 2) integer ``(y, x)`` pixels.
    """
    label = check_label(label)
    pixels = _mask_pixels(roiset, mask, "draw")
    rois = [*roiset.rois, CuratedRoi(pixels, label, "drawn", ())]
    return _rebuild(roiset, rois, np.append(np.arange(len(roiset)), -1), [len(roiset)])


def erase(roiset: RoiSet, roi_id: int, mask: Any) -> RoiSet:
    """Remove the pixels of ``mask`` from ROI ``roi_id`` (which keeps its id, label,
    origin and sources); ``mask`` as for :func:`draw`. At least one pixel must go and
    one stay (use :func:`delete` to remove a ROI)."""
    roi_id = roiset.check_id(roi_id)
    pixels = _mask_pixels(roiset, mask, "erase")
    roi = roiset.rois[roi_id]
    remaining = np.setdiff1d(roi.pixels, pixels, assume_unique=True)
    if remaining.size == roi.pixels.size:
        raise CurationError(f"the erase mask does not touch ROI {roi_id}: nothing to erase")
    if remaining.size == 0:
        raise CurationError(f"erasing would remove every pixel of ROI {roi_id}; use delete "
                            f"to remove a ROI")
    rois = list(roiset.rois)
    rois[roi_id] = CuratedRoi(frozen_pixels(remaining), roi.label, roi.origin, roi.sources)
    return _rebuild(roiset, rois, np.arange(len(roiset)), [roi_id])


def delete(roiset: RoiSet, ids: Iterable[int] | int) -> RoiSet:
    """Remove the ROIs ``ids``; ids above each removed one move down."""
    ids = _selection(roiset, ids, "delete")
    keep = np.ones(len(roiset), bool)
    keep[ids] = False
    take = np.flatnonzero(keep)
    return _rebuild(roiset, [roiset.rois[i] for i in take], take, [])


def _to_relabel(roiset: RoiSet, metric: str, op: str, value: float, label: str) -> np.ndarray:
    label = check_label(label)
    values = roiset.metric(metric)
    if op not in OPERATORS:
        raise CurationError(f"unknown comparison {op!r}: use one of {', '.join(OPERATORS)}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise CurationError(f"relabel_where compares {metric!r} with a number, not {value!r}")
    values = values.astype(np.float64)
    with np.errstate(invalid="ignore"):
        hit = OPERATORS[op](values, float(value)) & ~np.isnan(values)
    current = np.array(roiset.labels, object) if len(roiset) else np.zeros(0, object)
    return np.flatnonzero(hit & (current != label))


def relabel_where(roiset: RoiSet, metric: str, op: str, value: float, label: str) -> RoiSet:
    """Label ``label`` every ROI whose ``metric`` compares true (``op``) with ``value``.

    ``op`` is one of ``< <= > >= == !=``; ROIs with a NaN metric are left alone.
    :func:`count_relabel` previews how many labels this changes.
    """
    ids = _to_relabel(roiset, metric, op, value, label)
    return roiset if ids.size == 0 else set_label(roiset, ids.tolist(), label)


def count_relabel(roiset: RoiSet, metric: str, op: str, value: float, label: str) -> int:
    """How many ROIs :func:`relabel_where` with these arguments would relabel."""
    return int(_to_relabel(roiset, metric, op, value, label).size)


ACTIONS: dict[str, Callable[..., RoiSet]] = {
    "set_label": set_label,
    "merge": merge,
    "split_by_correlation": split_by_correlation,
    "split_by_line": split_by_line,
    "draw": draw,
    "erase": erase,
    "delete": delete,
    "relabel_where": relabel_where,
}
"""Every action by name, as :meth:`CurationSession.apply` calls them."""
