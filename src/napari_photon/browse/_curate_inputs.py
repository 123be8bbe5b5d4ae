"""What a curation starts from: a recording's ROI row, corrected movie and stored traces.

:func:`load_curation` reads a recording's ROI row (masks, metrics, summary images), its
motion-corrected movie (lazy) and, per ROI on demand, its stored traces
(:class:`TraceStore`); :func:`curation_versions` lists the versions committed for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._frames import work_frames

__all__ = ["TRACE_NAMES", "CurationInputs", "TraceStore", "curation_versions", "load_curation"]

#: the traces stored per ROI (Trace, CuratedTrace)
TRACE_NAMES = ("fluorescence", "neuropil", "dff")


def _pixel_hash(pixels: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(pixels, dtype=np.int64).tobytes(),
                           digest_size=12).hexdigest()


class TraceStore:
    """Traces per ROI: the stored ``Trace`` rows of the detected ROIs (read when asked),
    or traces computed from the corrected movie for ROIs the curation made.

    Parameters
    ----------
    fetch : callable(list of roi_id) -> {roi_id: {"fluorescence", "neuropil", "dff"}}
        Reads stored traces of detected ROIs (empty when none stored).
    photons : array-like (t, y, x) or None
        Photon counts of the corrected movie, for computed traces.
    shape : (height, width)
    """

    def __init__(self, fetch: Callable[[list[int]], dict], photons: Any, shape: tuple[int, int],
                 frames_per_chunk: int = 64) -> None:
        self._fetch = fetch
        self.photons = photons
        self.shape = tuple(shape)
        self.frames_per_chunk = frames_per_chunk
        self._computed: dict[str, dict] = {}

    def stored(self, roi_ids: list[int]) -> dict[int, dict]:
        return self._fetch(list(roi_ids)) if roi_ids else {}

    def cached(self, pixels: np.ndarray) -> dict | None:
        """Traces computed before for these pixels, or None."""
        return self._computed.get(_pixel_hash(pixels))

    def computed(self, pixels: np.ndarray) -> dict | None:
        """Traces of the ROI of flat pixel indices ``pixels`` (cached by its pixels)."""
        digest = _pixel_hash(pixels)
        if digest in self._computed:
            return self._computed[digest]
        if self.photons is None or len(pixels) == 0:
            return None
        from .. import traces

        mask = np.zeros(self.shape, dtype=bool)
        mask.flat[pixels] = True
        result = traces.extract_all(self.photons, mask[None],
                                    frames_per_chunk=work_frames(self.frames_per_chunk))
        found = {name: getattr(result, name)[0] for name in TRACE_NAMES}
        found["metrics"] = {k: float(v[0]) for k, v in traces.trace_metrics(result).items()}
        self._computed[digest] = found
        return found


@dataclass
class CurationInputs:
    """A recording's detected ROIs and what comes with them.

    Attributes
    ----------
    key : dict
        The recording's key.
    roi_key : dict
        Key of the ROI row curated (recording + motion and ROI parameter ids).
    schema : str
    shape : (height, width)
    masks : ndarray of bool (n, y, x) or None
        Detected masks (``roi_id`` = index); None when the set came from elsewhere.
    rois : RoiSet or None
        The detected set as a RoiSet (made from ``masks`` when None).
    metrics : dict of name -> (n,) array
        Per detected ROI (``roi_metrics`` plus ``snr``/``skew`` of its traces).
    images : dict of name -> 2D array
        ``mean``, ``max``, ``correlation`` (and ``reference``) images.
    corrected : PhotonMovie or None
        The motion-corrected movie (lazy).
    traces : TraceStore
    n_frames : int
    """

    key: dict
    roi_key: dict
    schema: str
    shape: tuple[int, int]
    masks: np.ndarray | None
    metrics: dict[str, np.ndarray]
    images: dict[str, np.ndarray]
    traces: TraceStore
    corrected: Any = None
    n_frames: int = 0
    rois: Any = None
    pipeline: Any = field(default=None, repr=False)
    #: the version the set started from: None for the detected set, else its curation_id
    parent_curation_id: int | None = None
    #: ``'detected'``, ``'curation'`` or the tool an imported set came from
    parent_kind: str = "detected"


def _stored_fetch(table: Any, key: dict) -> Callable[[list[int]], dict]:
    """Reads the traces of ``table`` (``Trace`` or ``CuratedTrace``) restricted to ``key``."""

    def fetch(roi_ids: list[int]) -> dict:
        rows = table & key & [{"roi_id": int(r)} for r in roi_ids]
        rows = rows.fetch("roi_id", *TRACE_NAMES, as_dict=True)
        return {int(r["roi_id"]): {n: r[n] for n in TRACE_NAMES} for r in rows}

    return fetch


def curation_versions(pipeline: Any, roi_key: dict) -> list[dict]:
    """The committed versions of the ROI set ``roi_key``: ``curation_id``, ``curator``,
    ``note``, ``curated_at`` each, oldest first (empty without curation tables)."""
    if not hasattr(pipeline, "Curation"):
        return []
    table = pipeline.Curation & {k: v for k, v in roi_key.items() if k in pipeline.ROI.primary_key}
    return table.fetch("curation_id", "curator", "note", "curated_at", as_dict=True,
                       order_by="curation_id")


def load_curation(pipeline: Any, key: dict, *, roi_key: dict | None = None,
                  curation_id: int | None = None) -> CurationInputs:
    """Read what curating ``key``'s ROIs needs (movies stay lazy; traces are read later).

    Parameters
    ----------
    pipeline : Pipeline
    key : dict
        The recording's key (extra attributes restrict which ROI row: e.g. its
        ``motion_params_id`` and ``roi_params_id``).
    roi_key : dict, optional
        Restrict the ROI row further.
    curation_id : int, optional
        Start from this committed version of the set (its masks and labels; each ROI
        ``'detected'`` with its roi_id in that version as its source; traces from
        ``CuratedTrace``) instead of the detected set.

    Raises
    ------
    LookupError
        When the recording has no ROI row yet.
    """
    from ._open import recording_key

    query = pipeline.ROI & recording_key(key) & {
        k: v for k, v in {**key, **(roi_key or {})}.items() if k in pipeline.ROI.primary_key
    }
    keys = query.keys(order_by=list(pipeline.ROI.primary_key), limit=1)
    if not keys:
        raise LookupError(f"recording {recording_key(key)} has no ROIs yet: detect them first")
    found = dict(keys[0])
    row = (pipeline.ROI & found).fetch1()
    masks = np.asarray(row["roi_masks"], dtype=bool)
    corrected = (pipeline.MotionCorrected & found).fetch1("corrected_movie")
    images = {
        name: np.asarray(row[f"{name}_image"])
        for name in ("mean", "max", "correlation")
        if row.get(f"{name}_image") is not None
    }
    metrics = {k: np.asarray(v) for k, v in (row.get("roi_metrics") or {}).items()}
    shape = tuple(masks.shape[1:]) if masks.ndim == 3 else tuple(corrected.shape[-2:])
    trace_table, trace_key, labels = pipeline.Trace, found, None
    if curation_id is not None:
        trace_key = {**found, "curation_id": int(curation_id)}
        if not (pipeline.Curation & trace_key):
            raise LookupError(f"curation {curation_id} of {recording_key(found)} does not exist")
        rows = (pipeline.Curation.Mask & trace_key).fetch("mask", "label", as_dict=True,
                                                          order_by="roi_id")
        masks = np.stack([np.asarray(r["mask"], bool) for r in rows]) if rows else np.zeros(
            (0, *shape), bool)
        labels = [r["label"] for r in rows]
        trace_table = pipeline.CuratedTrace
        from ..rois import roi_metrics
        from ._suggest import summary_images as _summary_images

        metrics = roi_metrics(masks, _summary_images(images, int(corrected.shape[0])))
    metrics.update(_stored_trace_metrics(trace_table, trace_key, len(masks)))
    rois = None
    if labels is not None:
        from .. import curation
        from ._suggest import summary_images as _summary_images

        rois = curation.RoiSet.from_masks(masks, metrics=metrics, labels=labels,
                                          images=_summary_images(images, int(corrected.shape[0])))
    return CurationInputs(
        key=recording_key(found),
        roi_key=found,
        schema=pipeline.database,
        shape=shape,
        masks=masks,
        metrics=metrics,
        images=images,
        corrected=corrected,
        n_frames=int(corrected.shape[0]),
        traces=TraceStore(_stored_fetch(trace_table, trace_key), corrected.photons("algebraic"),
                          shape, int(getattr(corrected, "frames_per_chunk", 64) or 64)),
        pipeline=pipeline,
        rois=rois,
        parent_curation_id=None if curation_id is None else int(curation_id),
        parent_kind="detected" if curation_id is None else "curation",
    )


def _stored_trace_metrics(table: Any, key: dict, n: int) -> dict[str, np.ndarray]:
    """``snr``/``skew`` of the traces stored in ``table & key`` (NaN where none is)."""
    from .. import traces

    rows = (table & key).fetch("roi_id", "neuropil_coefficient", *TRACE_NAMES, as_dict=True)
    out = {"snr": np.full(n, np.nan, np.float32), "skew": np.full(n, np.nan, np.float32)}
    rows = [r for r in rows if all(r[k] is not None for k in TRACE_NAMES)]
    if not rows:
        return out
    ids = np.array([r["roi_id"] for r in rows])
    result = traces.TraceResult(
        fluorescence=np.stack([r["fluorescence"] for r in rows]),
        neuropil=np.stack([r["neuropil"] for r in rows]),
        dff=np.stack([r["dff"] for r in rows]),
        baseline=np.zeros(0), neuropil_masks=np.zeros(0), params={},
        coefficients=np.array([traces.FIXED_NEUROPIL_COEFFICIENT
                               if r["neuropil_coefficient"] is None
                               else r["neuropil_coefficient"] for r in rows], np.float32),
    )
    for name, values in traces.trace_metrics(result).items():
        if name in out:
            out[name][ids] = values
    return out
