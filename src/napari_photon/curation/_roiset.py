"""Curated ROIs kept sparse: each ROI's flat pixel indices, its label, origin and sources.

A :class:`RoiSet` never holds a dense ``(n, height, width)`` stack: each
:class:`CuratedRoi` keeps the sorted flat (row-major) indices of its pixels, int32, and
dense masks or a label image are built on request. Both are immutable; an action makes a
new set that shares every ROI it did not touch (structural sharing), so keeping every
state for undo costs only the ROIs that changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..rois import SummaryImages, roi_metrics
from ._errors import CurationError

__all__ = ["LABELS", "ORIGINS", "CuratedRoi", "RoiSet", "check_label"]

LABELS = ("cell", "not cell", "unsure")
"""A curator's verdict on a ROI."""

ORIGINS = ("detected", "merged", "split", "drawn", "imported")
"""Where a ROI came from: the detection, an action, or an imported file."""


def check_label(label: Any) -> str:
    """``label`` if it is one of :data:`LABELS`, else :class:`CurationError`."""
    if not isinstance(label, str) or label not in LABELS:
        raise CurationError(f"unknown label {label!r}: a label is one of {', '.join(LABELS)}")
    return label


def frozen_pixels(pixels: Any) -> np.ndarray:
    """``pixels`` as a read-only int32 array, copied unless it already is one."""
    array = np.asarray(pixels)
    if array.dtype != np.int32 or array.flags.writeable:
        array = array.astype(np.int32, copy=True)
        array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class CuratedRoi:
    """One ROI of a curated set.

    Attributes
    ----------
    pixels : ndarray of int32, shape (k,)
        Flat row-major pixel indices (``y * width + x``), sorted, unique, read-only, k >= 1.
    label : str
        One of :data:`LABELS`.
    origin : str
        One of :data:`ORIGINS`.
    sources : tuple of int
        The ``roi_id`` (index into the detected ``ROI.roi_masks``) of each detected ROI this
        one was made from, sorted: ``(i,)`` for detected ROI ``i``, the union of the parts'
        sources for a merge, the parent's for a split, ``()`` for drawn and imported ROIs.
        Sources always point into the detected set, never at positions in a later state,
        so no action can make them point at the wrong ROI.
    """

    pixels: np.ndarray
    label: str = "cell"
    origin: str = "detected"
    sources: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        pixels = np.asarray(self.pixels)
        if pixels.ndim != 1 or pixels.dtype.kind not in "iu":
            raise CurationError(
                f"ROI pixels must be a 1-D array of integer flat indices, not "
                f"{pixels.dtype} of shape {pixels.shape}")
        if pixels.size == 0:
            raise CurationError("a ROI needs at least one pixel; this one has none")
        if pixels[0] < 0 or (pixels.size > 1 and np.any(pixels[1:] <= pixels[:-1])):
            raise CurationError("ROI pixels must be non-negative flat indices, sorted and "
                                "without repeats (np.unique gives them)")
        if pixels.dtype.kind == "u" and int(pixels[-1]) > np.iinfo(np.int32).max:
            raise CurationError("ROI pixel index does not fit in int32")
        object.__setattr__(self, "pixels", frozen_pixels(pixels))
        check_label(self.label)
        if self.origin not in ORIGINS:
            raise CurationError(
                f"unknown origin {self.origin!r}: an origin is one of {', '.join(ORIGINS)}")
        object.__setattr__(self, "sources", tuple(int(s) for s in self.sources))

    @property
    def area(self) -> int:
        """Number of pixels."""
        return int(self.pixels.size)

    def with_label(self, label: str) -> CuratedRoi:
        """This ROI with another label (same pixel array, no copy)."""
        return CuratedRoi(self.pixels, check_label(label), self.origin, self.sources)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, CuratedRoi):
            return NotImplemented
        return (self.label == other.label and self.origin == other.origin
                and self.sources == other.sources
                and np.array_equal(self.pixels, other.pixels))

    def __hash__(self) -> int:
        return hash((self.label, self.origin, self.sources, self.pixels.tobytes()))

    def __repr__(self) -> str:
        return (f"CuratedRoi(area={self.area}, label={self.label!r}, origin={self.origin!r}, "
                f"sources={self.sources})")


def _frozen_column(values: Any, n: int, name: str) -> np.ndarray:
    array = np.array(values, copy=True)
    if array.shape != (n,):
        raise CurationError(
            f"metric {name!r} has shape {array.shape}; a metric holds one value per ROI, "
            f"shape ({n},)")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class RoiSet:
    """An immutable set of curated ROIs on one frame.

    The position of a ROI in :attr:`rois` is its ``roi_id`` in this state. Build one with
    :meth:`from_masks` (a detection's ``roi_masks``) or :meth:`from_pixels`; change it
    with the functions of :mod:`napari_photon.curation` (each returns a new set).

    Attributes
    ----------
    shape : tuple of int
        Frame shape ``(height, width)``.
    rois : tuple of CuratedRoi
    metrics : mapping of str -> ndarray of shape (n,)
        Per-ROI metrics (read-only arrays). A set keeps the metric names it was built
        with; ROIs made by actions get the ones :mod:`._metrics` can compute from pixels
        and :attr:`images`, NaN for the others (such as trace SNR).
    images : SummaryImages or None
        The recording's summary images, for the image metrics of new ROIs and as the
        default image of :func:`split_by_correlation`. Context, not state: left out of
        equality and of the draft.
    """

    shape: tuple[int, int]
    rois: tuple[CuratedRoi, ...] = ()
    metrics: Mapping[str, np.ndarray] = field(default_factory=dict)
    images: SummaryImages | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        if len(shape) != 2 or min(shape) < 1:
            raise CurationError(f"frame shape must be (height, width) >= 1, not {self.shape}")
        object.__setattr__(self, "shape", shape)
        rois = tuple(self.rois)
        size = shape[0] * shape[1]
        for i, roi in enumerate(rois):
            if not isinstance(roi, CuratedRoi):
                raise CurationError(f"ROI {i} is a {type(roi).__name__}, not a CuratedRoi")
            if roi.pixels[-1] >= size:
                raise CurationError(
                    f"ROI {i} has pixel index {int(roi.pixels[-1])}, outside the "
                    f"{shape[0]}x{shape[1]} frame (flat indices go up to {size - 1})")
        object.__setattr__(self, "rois", rois)
        metrics = {str(k): _frozen_column(v, len(rois), str(k)) for k, v in self.metrics.items()}
        object.__setattr__(self, "metrics", MappingProxyType(metrics))
        if self.images is not None and self.images.mean.shape != shape:
            raise CurationError(f"summary images have shape {self.images.mean.shape}, but "
                                f"the frame is {shape}")

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_masks(cls, masks: Any, metrics: Mapping[str, Any] | None = None,
                   labels: Sequence[str] | None = None, *, images: SummaryImages | None = None,
                   origin: str = "detected") -> RoiSet:
        """A set from dense masks, such as ``ROI.roi_masks``.

        Parameters
        ----------
        masks : array-like of bool, shape (n, height, width)
            Mask ``i`` becomes ROI ``i``; with ``origin="detected"`` its sources are
            ``(i,)``.
        metrics : mapping of str -> array of shape (n,), optional
            Per-ROI metrics (``ROI.roi_metrics``). Default: computed with
            :func:`napari_photon.rois.roi_metrics` from the masks and ``images``.
        labels : sequence of str, optional
            One of :data:`LABELS` per ROI; default ``"cell"`` (a detection proposes cells).
        images : SummaryImages, optional
        origin : str
            ``"detected"`` or ``"imported"``.
        """
        masks = np.asarray(masks)
        if masks.ndim != 3:
            raise CurationError(
                f"masks must be an (n, height, width) stack, not shape {masks.shape}")
        masks = masks.astype(bool, copy=False)
        n = len(masks)
        roi_ids, flat = np.nonzero(masks.reshape(n, -1))
        counts = np.bincount(roi_ids, minlength=n)
        if n and counts.min() == 0:
            raise CurationError(f"mask {int(np.argmin(counts))} is empty: a ROI needs pixels")
        pixels = np.split(flat.astype(np.int32), np.cumsum(counts)[:-1]) if n else []
        if metrics is None:
            metrics = roi_metrics(masks, images)
        return cls.from_pixels(masks.shape[1:], pixels, labels=labels, metrics=metrics,
                               images=images, origin=origin)

    @classmethod
    def from_pixels(cls, shape: tuple[int, int], pixels: Sequence[Any], *,
                    labels: Sequence[str] | None = None,
                    metrics: Mapping[str, Any] | None = None,
                    images: SummaryImages | None = None, origin: str = "detected",
                    sources: Sequence[Sequence[int]] | None = None) -> RoiSet:
        """A set from each ROI's flat pixel indices.

        ``pixels[i]`` is made sorted and unique. ``sources`` defaults to ``(i,)`` for
        detected ROIs and ``()`` otherwise; ``metrics`` defaults to those computed from
        the pixels and ``images``.
        """
        from ._metrics import measure

        n = len(pixels)
        pixels = [np.unique(np.asarray(p).astype(np.int64, copy=False)) for p in pixels]
        size = int(shape[0]) * int(shape[1])
        for i, p in enumerate(pixels):
            if p.size and (p[0] < 0 or p[-1] >= size):
                raise CurationError(f"ROI {i} has pixels outside the {shape[0]}x{shape[1]} "
                                    f"frame (flat indices 0-{size - 1})")
        labels = ["cell"] * n if labels is None else list(labels)
        if len(labels) != n:
            raise CurationError(f"{len(labels)} labels for {n} ROIs: give one label per ROI")
        if sources is None:
            sources = [(i,) if origin == "detected" else () for i in range(n)]
        rois = tuple(CuratedRoi(p, label, origin, tuple(s))
                     for p, label, s in zip(pixels, labels, sources, strict=True))
        if metrics is None:
            metrics = measure([r.pixels for r in rois], shape, images)
        return cls(tuple(shape), rois, metrics, images)

    def _derive(self, rois: tuple[CuratedRoi, ...], metrics: Mapping[str, np.ndarray]
                ) -> RoiSet:
        """A set of the same frame and images; ``rois`` and ``metrics`` already checked."""
        new = object.__new__(RoiSet)
        for name, value in (("shape", self.shape), ("rois", rois),
                            ("metrics", MappingProxyType(dict(metrics))),
                            ("images", self.images), ("_cache", {})):
            object.__setattr__(new, name, value)
        return new

    def with_images(self, images: SummaryImages | None) -> RoiSet:
        """This set with other summary images (the ROIs and metrics are shared)."""
        return RoiSet(self.shape, self.rois, self.metrics, images)

    # -- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.rois)

    def __getitem__(self, roi_id: int) -> CuratedRoi:
        return self.rois[roi_id]

    def __iter__(self) -> Iterator[CuratedRoi]:
        return iter(self.rois)

    def __eq__(self, other: object) -> bool:
        """Same frame, ROIs (pixels, labels, origins, sources) and metrics (NaN == NaN)."""
        if self is other:
            return True
        if not isinstance(other, RoiSet):
            return NotImplemented
        if self.shape != other.shape or len(self.rois) != len(other.rois):
            return False
        if any(a is not b and a != b for a, b in zip(self.rois, other.rois)):
            return False
        if set(self.metrics) != set(other.metrics):
            return False
        return all(_same_column(self.metrics[k], other.metrics[k]) for k in self.metrics)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        counts = {label: self.labels.count(label) for label in LABELS}
        return (f"RoiSet(shape={self.shape}, n={len(self)}, "
                + ", ".join(f"{k}={v}" for k, v in counts.items()) + ")")

    @property
    def labels(self) -> tuple[str, ...]:
        """Each ROI's label."""
        return self._cached("labels", lambda: tuple(r.label for r in self.rois))

    @property
    def origins(self) -> tuple[str, ...]:
        """Each ROI's origin."""
        return tuple(r.origin for r in self.rois)

    @property
    def sources(self) -> tuple[tuple[int, ...], ...]:
        """Each ROI's sources (detected ``roi_id`` values)."""
        return tuple(r.sources for r in self.rois)

    @property
    def areas(self) -> np.ndarray:
        """Pixels per ROI, int64 (n,)."""
        return np.fromiter((r.pixels.size for r in self.rois), np.int64, len(self.rois))

    def is_cell(self) -> np.ndarray:
        """Bool (n,): label ``"cell"``."""
        return np.array([label == "cell" for label in self.labels], bool)

    def check_id(self, roi_id: Any) -> int:
        """``roi_id`` as an int if it names a ROI of this set, else CurationError."""
        if isinstance(roi_id, (bool, np.bool_)) or not isinstance(roi_id, (int, np.integer)):
            raise CurationError(f"a ROI id is an integer, not {roi_id!r}")
        roi_id = int(roi_id)
        if not 0 <= roi_id < len(self.rois):
            last = f"ids 0-{len(self.rois) - 1}" if self.rois else "no ids"
            raise CurationError(f"ROI id {roi_id} is out of range: this set has "
                                f"{len(self.rois)} ROIs ({last})")
        return roi_id

    def metric(self, name: str) -> np.ndarray:
        """The values of metric ``name`` (read-only), or CurationError naming the known ones."""
        try:
            return self.metrics[name]
        except KeyError:
            known = ", ".join(sorted(self.metrics)) or "none"
            raise CurationError(f"unknown metric {name!r}: this set has {known}") from None

    def coords(self, roi_id: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ys, xs)`` of ROI ``roi_id``'s pixels."""
        ys, xs = np.divmod(self.rois[self.check_id(roi_id)].pixels, self.shape[1])
        return ys, xs

    def mask(self, roi_id: int) -> np.ndarray:
        """Dense bool mask (height, width) of one ROI."""
        flat = np.zeros(self.shape[0] * self.shape[1], bool)
        flat[self.rois[self.check_id(roi_id)].pixels] = True
        return flat.reshape(self.shape)

    def masks(self, ids: Iterable[int] | None = None) -> np.ndarray:
        """Dense bool masks (k, height, width) of ``ids`` (default: all): built now, O(k*h*w)."""
        ids = range(len(self)) if ids is None else [self.check_id(i) for i in ids]
        out = np.zeros((len(ids), self.shape[0] * self.shape[1]), bool)
        for row, roi_id in enumerate(ids):
            out[row, self.rois[roi_id].pixels] = True
        return out.reshape(len(ids), *self.shape)

    def label_image(self) -> np.ndarray:
        """Int32 (height, width): ``roi_id + 1`` of the topmost ROI at each pixel, 0 elsewhere.

        Where ROIs overlap the later one (higher id) wins. Built once per set and cached;
        a copy is returned.
        """
        return self._label_image().copy()

    def roi_at(self, y: int, x: int) -> int | None:
        """The topmost (highest) ROI id at pixel ``(y, x)``; None on background or outside."""
        y, x = int(y), int(x)
        if not (0 <= y < self.shape[0] and 0 <= x < self.shape[1]):
            return None
        value = int(self._label_image()[y, x])
        return value - 1 if value else None

    def coverage(self) -> np.ndarray:
        """Bool (height, width): pixels covered by any ROI (read-only, cached)."""
        return self._cached("coverage", lambda: self._label_image() > 0)

    # -- internals ------------------------------------------------------------------------

    def _cached(self, key: str, build: Any) -> Any:
        value = self._cache.get(key)
        if value is None:
            value = build()
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            self._cache[key] = value
        return value

    def _label_image(self) -> np.ndarray:
        def build() -> np.ndarray:
            flat = np.zeros(self.shape[0] * self.shape[1], np.int32)
            if self.rois:
                pixels = np.concatenate([r.pixels for r in self.rois])
                ids = np.repeat(np.arange(1, len(self.rois) + 1, dtype=np.int32),
                                [r.pixels.size for r in self.rois])
                np.maximum.at(flat, pixels, ids)  # defined for repeats: the highest id wins
            return flat.reshape(self.shape)

        return self._cached("label_image", build)


def _same_column(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))
