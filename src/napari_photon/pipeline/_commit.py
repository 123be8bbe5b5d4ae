"""Writing a curated ROI set into ``Curation`` and ``Curation.Mask``, whole or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from ._curation import LABELS, ORIGINS, PARENT_KINDS

__all__ = ["CurationError", "commit_curation"]

#: how many parent ROIs each origin takes (None: any number)
_SOURCE_COUNTS: dict[str, tuple[int, int | None]] = {
    "detected": (1, 1),  # kept from the parent set, maybe relabelled
    "merged": (2, None),
    "split": (1, None),  # a part of one ROI, which may itself have been a merge
    "drawn": (0, 0),
    "imported": (0, None),
}


class CurationError(ValueError):
    """A curation that cannot be committed as given; nothing was written."""


@dataclass(frozen=True)
class _Parent:
    kind: str
    curation_id: int | None


def _roi_key(roi: Any, roi_key: dict) -> dict:
    """The ROI set's primary key, checked to name exactly one existing row."""
    missing = [k for k in roi.primary_key if k not in roi_key]
    if missing:
        raise CurationError(
            f"the ROI key lacks {missing}; an ROI set is named by {roi.primary_key}"
        )
    key = {k: roi_key[k] for k in roi.primary_key}
    if not len(roi & key):
        raise CurationError(f"no ROI set {key}: populate ROI first")
    return key


def _masks(masks: Any, shape: tuple[int, int]) -> list[np.ndarray]:
    """``masks`` as (height, width) bool arrays, each of the recording's shape and not empty."""
    checked = []
    for i, mask in enumerate(masks):
        mask = np.asarray(mask)
        if mask.shape != shape:
            raise CurationError(
                f"mask {i} has shape {mask.shape}; the recording's frames are {shape}"
            )
        if mask.dtype != bool:
            if not np.isin(mask, (0, 1)).all():
                raise CurationError(f"mask {i} holds values other than 0 and 1 (or True, False)")
            mask = mask.astype(bool)
        if not mask.any():
            raise CurationError(f"mask {i} is empty")
        checked.append(mask)
    return checked


def _choices(values: Sequence[str], allowed: tuple[str, ...], what: str) -> list[str]:
    for i, value in enumerate(values):
        if value not in allowed:
            raise CurationError(f"{what} {i} is {value!r}; choose from {list(allowed)}")
    return [str(value) for value in values]


def _sources(
    sources: Sequence[Any], origins: Sequence[str], n_parent: int | None
) -> list[np.ndarray]:
    """Each mask's parent roi_ids as an int64 array, checked against its origin and the
    size of the parent set (``n_parent``; None when the parent set is outside the database)."""
    checked = []
    for i, (found, origin) in enumerate(zip(sources, origins)):
        ids = np.asarray(found if found is not None else [], dtype=float).ravel()
        if ids.size and (np.any(ids != np.round(ids)) or ids.min() < 0):
            raise CurationError(f"sources {i} are not roi_ids (integers from 0): {found!r}")
        ids = ids.astype(np.int64)
        if n_parent is not None and ids.size and ids.max() >= n_parent:
            raise CurationError(
                f"sources {i} name roi_id {ids.max()}; the parent set has {n_parent} ROIs"
            )
        low, high = _SOURCE_COUNTS[origin]
        if ids.size < low or (high is not None and ids.size > high):
            wanted = f"{low}" if low == high else f"at least {low}"
            raise CurationError(
                f"mask {i} is {origin!r} from {ids.size} parent ROIs; {origin!r} takes {wanted}"
            )
        checked.append(ids)
    return checked


def _parent(parent_curation_id: int | None, parent_kind: str | None) -> _Parent:
    kind = parent_kind or ("detected" if parent_curation_id is None else "curation")
    if kind not in PARENT_KINDS:
        raise CurationError(f"parent_kind is {kind!r}; choose from {list(PARENT_KINDS)}")
    if (kind == "curation") != (parent_curation_id is not None):
        raise CurationError(
            "parent_curation_id goes with parent_kind 'curation', and only with it "
            f"(got parent_kind={kind!r}, parent_curation_id={parent_curation_id!r})"
        )
    return _Parent(kind, None if parent_curation_id is None else int(parent_curation_id))


def _lock(table: Any) -> list[dict]:
    """Lock the rows of ``table`` (a restricted base table) until the transaction ends,
    and return their primary keys as last committed (a locking read sees the newest rows,
    also on MySQL, whose transactions otherwise read the snapshot they started with)."""
    sql = table.proj().make_sql() + " FOR UPDATE"
    return list(table.connection.query(sql, as_dict=True).fetchall())


def _parent_size(pipeline: Any, key: dict, parent: _Parent) -> int | None:
    """ROIs in the parent set (inside the transaction, after the lock)."""
    if parent.kind == "detected":
        return int((pipeline.ROI & key).fetch1("n_rois"))
    if parent.kind == "curation":
        version = {**key, "curation_id": parent.curation_id}
        if not len(pipeline.Curation & version):
            raise CurationError(f"no curation {parent.curation_id} of the ROI set {key}")
        return len(pipeline.Curation.Mask & version)
    return None  # an imported set: its roi_ids are the other tool's


def commit_curation(
    pipeline: Any,
    roi_key: dict,
    masks: Any,
    labels: Sequence[str],
    origins: Sequence[str],
    sources: Sequence[Any],
    *,
    curator: str,
    note: str = "",
    parent_curation_id: int | None = None,
    parent_kind: str | None = None,
) -> dict:
    """Store a curated version of an ROI set: one ``Curation`` row and its masks.

    Everything is written in one transaction, or nothing is. The version's
    ``curation_id`` is one more than the largest of the ROI set's versions, taken while the
    ROI row is locked, so curators who commit at the same time each get their own.

    Parameters
    ----------
    pipeline : Pipeline
        Whose tables (this is the method ``Pipeline.commit_curation``).
    roi_key : dict
        The ``ROI`` row (the detected set) the version belongs to; extra fields are ignored.
    masks : sequence of (height, width) bool arrays, or an (n, height, width) array
        The version's ROIs; ``roi_id`` i is ``masks[i]``. None may be empty; their shape is
        the recording's.
    labels : sequence of str
        Per mask: ``'cell'``, ``'not cell'`` or ``'unsure'``.
    origins : sequence of str
        Per mask: ``'detected'`` (kept from the parent set; one source), ``'merged'``
        (two or more), ``'split'`` (the sources of the ROI it was cut from: one or more), ``'drawn'`` (none) or ``'imported'``.
    sources : sequence of int arrays
        Per mask: the roi_ids in the parent set it came from.
    curator : str
        Who curated (up to 64 characters).
    note : str
    parent_curation_id : int, optional
        The version this one started from; None: the detected set (``ROI.roi_masks``).
    parent_kind : str, optional
        ``'detected'``, ``'curation'``, or the tool an imported set came from
        (``'suite2p'``, ``'imagej'``, ``'caiman'``); default from ``parent_curation_id``.

    Returns
    -------
    dict
        The new version's key: the ROI key and ``curation_id``.

    Raises
    ------
    CurationError
        A ``ValueError`` for input that cannot be stored (unknown ROI set or parent,
        masks of another shape or empty, lengths that disagree, unknown label or origin,
        sources that do not fit); nothing is written.
    """
    key = _roi_key(pipeline.ROI, roi_key)
    shape = tuple(int(v) for v in (pipeline.Recording & key).fetch1("height", "width"))
    masks = _masks(masks, shape)
    lengths = {
        "masks": len(masks),
        "labels": len(labels),
        "origins": len(origins),
        "sources": len(sources),
    }
    if len(set(lengths.values())) != 1:
        raise CurationError(f"one label, origin and sources per mask; got {lengths}")
    labels = _choices(labels, LABELS, "label")
    origins = _choices(origins, ORIGINS, "origin")
    if not isinstance(curator, str) or not curator.strip() or len(curator) > 64:
        raise CurationError(f"curator must be 1 to 64 characters, got {curator!r}")
    if len(note) > 1000:
        raise CurationError(f"note has {len(note)} characters; at most 1000 fit")
    parent = _parent(parent_curation_id, parent_kind)

    connection = pipeline.connection
    with connection.transaction:
        if not _lock(pipeline.ROI & key):
            raise CurationError(f"the ROI set {key} was deleted meanwhile")
        checked = _sources(sources, origins, _parent_size(pipeline, key, parent))
        taken = [row["curation_id"] for row in _lock(pipeline.Curation & key)]
        version = {**key, "curation_id": max(taken, default=0) + 1}
        pipeline.Curation.insert1(
            {
                **version,
                "curator": curator,
                "curated_at": datetime.now().replace(microsecond=0),
                "note": note,
                "parent_curation_id": parent.curation_id,
                "parent_kind": parent.kind,
            }
        )
        pipeline.Curation.Mask.insert(
            {**version, "roi_id": i, "mask": m, "label": lab, "origin": o, "sources": s}
            for i, (m, lab, o, s) in enumerate(zip(masks, labels, origins, checked))
        )
    return version
