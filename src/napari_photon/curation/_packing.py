"""A :class:`RoiSet` as a few flat numpy arrays, and back: for drafts and storage.

``pack`` gives plain arrays (no objects, no pickle) that ``np.savez`` writes and
``np.load(..., allow_pickle=False)`` reads, or that a database blob holds:

``shape``
    int64 (2,): frame height, width.
``pixels``, ``pixel_offsets``
    int32 concatenated flat pixel indices; int64 (n + 1,) ROI ``i`` is
    ``pixels[pixel_offsets[i]:pixel_offsets[i + 1]]``.
``labels``, ``origins``
    uint8 (n,): indices into :data:`LABELS` and :data:`ORIGINS`.
``sources``, ``source_offsets``
    int64, as for pixels.
``metric_names``, ``metric/<name>``
    str (m,) and each metric's values (n,).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from ..rois import SummaryImages
from ._errors import CurationError
from ._roiset import LABELS, ORIGINS, CuratedRoi, RoiSet

__all__ = ["fingerprint", "pack", "unpack"]


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def pack(roiset: RoiSet) -> dict[str, np.ndarray]:
    """Plain arrays holding ``roiset`` (its summary images are left out)."""
    rois = roiset.rois
    arrays = {
        "shape": np.asarray(roiset.shape, np.int64),
        "pixels": (np.concatenate([r.pixels for r in rois]) if rois
                   else np.zeros(0, np.int32)),
        "pixel_offsets": _offsets([r.pixels.size for r in rois]),
        "labels": np.array([LABELS.index(r.label) for r in rois], np.uint8),
        "origins": np.array([ORIGINS.index(r.origin) for r in rois], np.uint8),
        "sources": np.array([s for r in rois for s in r.sources], np.int64),
        "source_offsets": _offsets([len(r.sources) for r in rois]),
        "metric_names": np.array(sorted(roiset.metrics), dtype=str),
    }
    for name in sorted(roiset.metrics):
        arrays[f"metric/{name}"] = np.asarray(roiset.metrics[name])
    return arrays


def unpack(arrays: Mapping[str, np.ndarray], images: SummaryImages | None = None) -> RoiSet:
    """The :class:`RoiSet` of :func:`pack`'s arrays, with ``images`` as its context."""
    try:
        pixels, offsets = np.asarray(arrays["pixels"], np.int32), arrays["pixel_offsets"]
        sources, source_offsets = arrays["sources"], arrays["source_offsets"]
        labels, origins = arrays["labels"], arrays["origins"]
        rois = tuple(
            CuratedRoi(pixels[offsets[i]:offsets[i + 1]], LABELS[labels[i]], ORIGINS[origins[i]],
                       tuple(sources[source_offsets[i]:source_offsets[i + 1]].tolist()))
            for i in range(len(labels)))
        metrics = {str(name): arrays[f"metric/{name}"] for name in arrays["metric_names"]}
        shape = tuple(int(s) for s in arrays["shape"])
    except (KeyError, IndexError) as error:
        raise CurationError(f"not a packed ROI set: {error!r} is missing or wrong") from None
    return RoiSet(shape, rois, metrics, images)


def fingerprint(roiset: RoiSet) -> str:
    """SHA-1 hex digest of the packed set: equal sets have equal fingerprints."""
    digest = hashlib.sha1()
    for key, array in sorted(pack(roiset).items()):
        digest.update(key.encode())
        digest.update(str(array.dtype).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
