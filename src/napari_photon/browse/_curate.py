"""What the curation dock shows and does, without Qt: the model layer of "Curate ROIs".

:func:`load_curation` reads a recording's ROI row (masks, metrics, summary images), its
motion-corrected movie (lazy) and, per ROI on demand, its stored traces.
:class:`CurateModel` holds the :class:`~napari_photon.curation.CurationSession` that
curates that set (every action through the session: undo, redo, autosaved draft) and
answers what the dock asks: the table's columns, the label colours, the traces of the
selected ROIs, and the commit through ``Pipeline.commit_curation``.

ROIs that the detection stored keep its metrics and traces; an ROI made in the dock
(merged, split, drawn, erased) gets its shape and image metrics from
:func:`napari_photon.rois.roi_metrics` at once, and its traces (and so ``snr``/``skew``)
from :func:`napari_photon.traces.extract_all` on the corrected movie when first asked.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ._curate_drafts import draft_parent, draft_path, draft_source
from ._curate_inputs import TRACE_NAMES, CurationInputs, TraceStore, curation_versions, load_curation

__all__ = [
    "LABELS",
    "LABEL_COLORS",
    "TABLE_METRICS",
    "CurateModel",
    "CurationInputs",
    "TraceStore",
    "curation_versions",
    "draft_parent",
    "draft_path",
    "draft_source",
    "load_curation",
    "metric_colors",
]

#: the labels an ROI can carry
LABELS = ("cell", "not cell", "unsure")
#: RGBA colour of each label in the Labels layer
LABEL_COLORS = {
    "cell": (0.30, 0.85, 0.35, 1.0),
    "not cell": (0.95, 0.30, 0.25, 1.0),
    "unsure": (1.00, 0.80, 0.20, 1.0),
}
#: colour of an ROI without a label
UNLABELLED_COLOR = (0.6, 0.6, 0.6, 1.0)
#: metrics shown first in the table (when present), then the others alphabetically
TABLE_METRICS = ("area", "compactness", "snr", "skew", "correlation", "contrast", "solidity")
#: metrics that only exist for a whole pipeline run, never recomputed per ROI
_HIDDEN = ("centroid_y", "centroid_x", "seed_y", "seed_x", "anatomical", "touches_border")

#: viridis at 0, 1/4, 1/2, 3/4, 1 (linear in between)
_VIRIDIS = np.array([[0.267, 0.005, 0.329], [0.229, 0.322, 0.546], [0.128, 0.567, 0.551],
                     [0.369, 0.789, 0.383], [0.993, 0.906, 0.144]])


def metric_colors(values: np.ndarray) -> np.ndarray:
    """RGBA (n, 4) of ``values`` on a viridis scale between their 2nd and 98th percentiles
    (missing values grey)."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    out = np.tile(np.array([0.5, 0.5, 0.5, 1.0]), (len(values), 1))
    if finite.any():
        lo, hi = np.percentile(values[finite], (2, 98))
        scaled = np.clip((values[finite] - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        anchors = np.linspace(0, 1, len(_VIRIDIS))
        for channel in range(3):
            out[finite, channel] = np.interp(scaled, anchors, _VIRIDIS[:, channel])
    return out




def _summary(inputs: CurationInputs) -> Any:
    """The ROI row's images as :class:`~napari_photon.rois.SummaryImages` (for the metrics
    of new ROIs and the correlation split), or None when the row has none."""
    from ._suggest import summary_images

    return summary_images(inputs.images, inputs.n_frames)


class CurateModel:
    """One recording's curation: the session and what the dock shows of it.

    Every change goes through :attr:`session` (a
    :class:`~napari_photon.curation.CurationSession`), so each is undone by :meth:`undo`,
    redone by :meth:`redo` and saved in the draft file at once. ``roi_id`` is the position
    in the current set (see :mod:`napari_photon.curation`).

    Parameters
    ----------
    inputs : CurationInputs
    draft : path, optional
        The session's draft file (default :func:`draft_path`); None keeps no draft.
    start : RoiSet, optional
        The set to start from (default: the detected one, every ROI a cell).
    resume : bool
        Continue the draft at ``draft`` (its state and history) instead.
    """

    def __init__(self, inputs: CurationInputs, *, draft: str | Path | None | bool = True,
                 start: Any = None, resume: bool = False) -> None:
        from .. import curation

        self.inputs = inputs
        if draft is True:
            draft = draft_path(inputs.key, inputs.schema)
        self.draft = Path(draft) if draft else None
        detected = inputs.rois
        if detected is None:
            detected = curation.RoiSet.from_masks(inputs.masks, metrics=inputs.metrics,
                                                  images=_summary(inputs))
        self.detected = detected
        if resume:
            if self.draft is None:
                raise ValueError("resuming needs the draft's path")
            self.session = curation.CurationSession.resume(self.draft, _summary(inputs))
            source = self.session.source if isinstance(self.session.source, dict) else {}
            if source.get("parent_kind") not in (None, "detected", "curation"):
                self.inputs = replace(inputs, parent_curation_id=None,
                                      parent_kind=source["parent_kind"])
        else:
            self.session = curation.CurationSession(
                start if start is not None else detected, self.draft, source=draft_source(inputs)
            )
        self.probability: np.ndarray | None = None
        self._probability_for: tuple | None = None
        #: the curations the suggestions were learnt from (keys), after :meth:`suggest`
        self.trained_on: list[dict] = []
        #: whether the draft file is this session's: it resumed it, or changed the set (and
        #: so saved over it)
        self.owns_draft = resume
        self._listeners: list[Callable[[], None]] = []
        self.session.on_change(self._changed)

    def pending_draft(self) -> Any:
        """The draft an earlier, uncommitted curation of this ROI set left at :attr:`draft`
        (a :class:`~napari_photon.curation.DraftInfo`), or None; none once the draft is
        this session's (:attr:`owns_draft`)."""
        from .. import curation

        if self.draft is None or self.owns_draft:
            return None
        wanted = {k: str(v) for k, v in self.inputs.roi_key.items()}
        for info in curation.drafts_for(self.draft.parent):
            source = info.source if isinstance(info.source, dict) else {}
            if info.path == self.draft and all(source.get(k) == v for k, v in wanted.items()):
                return info
        return None

    def discard_draft(self) -> None:
        """Delete the draft file (the curation shown stays)."""
        from .. import curation

        if self.draft is not None:
            curation.discard_draft(self.draft)

    # -- the set ---------------------------------------------------------------------------
    @property
    def rois(self) -> Any:
        """The current :class:`~napari_photon.curation.RoiSet`."""
        return self.session.state

    @property
    def shape(self) -> tuple[int, int]:
        return self.inputs.shape

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change of the set (action, undo, redo)."""
        self._listeners.append(callback)

    def _changed(self, _change: Any = None) -> None:
        self.owns_draft = True
        pixels = self._probability_for
        if pixels is None or len(pixels) != len(self.rois) or any(
            a is not b.pixels for a, b in zip(pixels, self.rois, strict=True)
        ):
            self.probability = None  # the ROIs changed, not only their labels
        for callback in list(self._listeners):
            callback()

    def label_image(self) -> np.ndarray:
        """(y, x) image: roi_id + 1 inside each ROI, 0 elsewhere."""
        return self.rois.label_image()

    def roi_at(self, y: int, x: int) -> int | None:
        return self.rois.roi_at(int(y), int(x))

    def detected_id(self, roi: int) -> int | None:
        """The detected ROI whose pixels ``roi`` still has (its stored traces are its),
        or None."""
        item = self.rois[roi]
        if item.origin != "detected" or len(item.sources) != 1:
            return None
        source = item.sources[0]
        same = np.array_equal(self.detected[source].pixels, item.pixels)
        return source if same else None

    # -- the table ---------------------------------------------------------------------------
    def columns(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(roi_ids, {name: values})`` for the table: label, origin, probability (after
        :meth:`suggest`), then the metrics."""
        rois = self.rois
        ids = np.arange(len(rois), dtype=np.int64)
        columns: dict[str, np.ndarray] = {
            "label": np.array(rois.labels, dtype=object),
            "origin": np.array(rois.origins, dtype=object),
        }
        if self.probability is not None:
            columns["probability"] = self.probability
        names = [m for m in TABLE_METRICS if m in rois.metrics]
        names += sorted(m for m in rois.metrics if m not in names and m not in _HIDDEN)
        for name in names:
            columns[name] = np.asarray(rois.metrics[name], dtype=np.float64)
        return ids, columns
    # -- colours ---------------------------------------------------------------------------
    def color_table(self, by: str = "label", *, hide_rejected: bool = False) -> np.ndarray:
        """Float32 ``(n_rois + 1, 4)`` RGBA indexed by label value (roi_id + 1; row 0, the
        background, transparent): each ROI coloured by its label or by the metric ``by``,
        rejected ROIs transparent with ``hide_rejected``."""
        labels = np.asarray(list(self.rois.labels), dtype=object)
        table = np.zeros((len(labels) + 1, 4), dtype=np.float32)
        if not len(labels):
            return table
        if by == "label":  # the labels alone: no need to build every column of the table
            table[1:] = [LABEL_COLORS.get(label, UNLABELLED_COLOR) for label in labels]
        else:
            _, columns = self.columns()
            table[1:] = np.asarray(metric_colors(columns[by]), dtype=np.float32).reshape(-1, 4)
        if hide_rejected:
            table[1:][labels == "not cell"] = 0
        return table

    # -- traces ----------------------------------------------------------------------------
    def traces(self, roi_ids: Iterable[int]) -> dict[int, dict]:
        """``{roi_id: {"fluorescence", "neuropil", "dff"}}`` of ``roi_ids``: stored rows
        for detected ROIs, computed from the corrected movie for the others."""
        roi_ids = [int(r) for r in roi_ids]
        sources = {r: self.detected_id(r) for r in roi_ids}
        found = self.inputs.traces.stored([s for s in sources.values() if s is not None])
        out = {}
        for roi in roi_ids:
            if sources[roi] in found:
                out[roi] = found[sources[roi]]
            else:
                computed = self.inputs.traces.computed(self.rois[roi].pixels)
                if computed is not None:
                    out[roi] = {k: computed[k] for k in TRACE_NAMES}
        return out

    # -- actions (through the curation session) ---------------------------------------------
    # Each returns the roi_ids to select afterwards; bad input raises CurationError (a
    # ValueError) and changes nothing.
    def set_label(self, roi_ids: Sequence[int], label: str) -> list[int]:
        self.session.set_label(list(roi_ids), label)
        return list(roi_ids)

    def merge(self, roi_ids: Sequence[int]) -> list[int]:
        self.session.merge(list(roi_ids))
        return [min(roi_ids)]

    def split_by_correlation(self, roi: int) -> list[int]:
        image = self.inputs.images.get("correlation")
        self.session.split_by_correlation(roi, image)
        return [roi, len(self.rois) - 1]

    def split_by_line(self, roi: int, line: np.ndarray) -> list[int]:
        line = np.asarray(line, dtype=np.float64)
        self.session.split_by_line(roi, tuple(line[0]), tuple(line[-1]))
        return [roi, len(self.rois) - 1]

    def draw(self, mask: np.ndarray) -> list[int]:
        self.session.draw(mask)
        return [len(self.rois) - 1]

    def erase(self, roi: int, mask: np.ndarray) -> list[int]:
        self.session.erase(roi, mask)
        return [roi]

    def delete(self, roi_ids: Sequence[int]) -> None:
        self.session.delete(list(roi_ids))

    def count_relabel(self, metric: str, threshold: float, above: bool, label: str) -> int:
        """How many ROIs :meth:`relabel_where` would change."""
        if metric == "probability":
            return 0 if self.probability is None else int(
                ((self.probability > threshold) if above else (self.probability < threshold)).sum())
        return self.session.count_relabel(metric, ">" if above else "<", threshold, label)

    def relabel_where(self, metric: str, threshold: float, above: bool, label: str) -> None:
        """Label ``label`` the ROIs whose ``metric`` is above (or below) ``threshold`` (one
        action; ``metric`` may be ``"probability"`` after :meth:`suggest`)."""
        if metric != "probability":
            self.session.relabel_where(metric, ">" if above else "<", threshold, label)
            return
        if self.probability is None:
            raise ValueError("No suggestions yet: click Suggest first.")
        chosen = (self.probability > threshold) if above else (self.probability < threshold)
        ids = [int(i) for i in np.flatnonzero(chosen) if self.rois.labels[i] != label]
        if not ids:
            raise ValueError(f"No ROI {'above' if above else 'below'} p = {threshold:g} "
                             f"to label {label!r}.")
        self.session.set_label(ids, label)

    # -- suggestions -----------------------------------------------------------------------------
    def trained_on_path(self) -> Path | None:
        """The JSON beside the draft that names the curations the suggestions came from."""
        return None if self.draft is None else self.draft.with_suffix(".suggestions.json")

    def suggest(self, examples: list | None = None) -> Any:
        """Learn from the pipeline's committed curations (or ``examples``; see
        :func:`~._suggest.suggest`); the probabilities are applied by
        :meth:`set_suggestions` (safe to call from a worker thread)."""
        from ._suggest import suggest

        return suggest(self, examples)

    def set_suggestions(self, found: Any) -> None:
        """Show ``found`` (a :class:`~._suggest.Suggestions`): the probability column and
        :attr:`trained_on` (also written beside the draft)."""
        from ._suggest import write_trained_on

        if len(found.probability) != len(self.rois):
            raise ValueError("the set changed while the suggestions were computed: suggest again")
        self.probability = np.asarray(found.probability, np.float64)
        self._probability_for = tuple(r.pixels for r in self.rois)
        self.trained_on = list(found.trained_on)
        if self.trained_on_path() is not None:
            write_trained_on(self.trained_on_path(), found)

    # -- files ---------------------------------------------------------------------------------
    def import_rois(self, kind: str, path: str | Path) -> None:
        """Replace the set with the ROIs of a ``kind`` (``'suite2p'``, ``'imagej'``,
        ``'caiman'``) file on this recording's frame: a new session (the draft starts
        again), every ROI ``'imported'``; a commit records ``parent_kind=kind``.

        Raises CurationError (a ValueError) for a file that does not fit (another frame
        size, not such a file); nothing changes then.
        """
        from .. import curation

        readers = {"suite2p": curation.read_suite2p, "imagej": curation.read_imagej,
                   "caiman": curation.read_caiman}
        if kind not in readers:
            raise ValueError(f"unknown kind {kind!r}: one of {', '.join(readers)}")
        imported = readers[kind](path, self.shape, images=_summary(self.inputs))
        self.inputs = replace(self.inputs, parent_curation_id=None, parent_kind=kind)
        self.session = curation.CurationSession(imported, self.draft,
                                                source=draft_source(self.inputs))
        self.session.on_change(self._changed)
        self.session.save_draft()
        self._changed()

    def export_rois(self, kind: str, path: str | Path) -> list[Path]:
        """Write the current set for ``kind`` (``'suite2p'``: ``stat.npy`` and
        ``iscell.npy`` into the folder ``path``; ``'imagej'``: a RoiSet zip)."""
        from .. import curation

        if kind == "suite2p":
            return list(curation.write_suite2p(self.rois, path))
        if kind == "imagej":
            return [curation.write_imagej(self.rois, path)]
        raise ValueError(f"cannot export {kind!r}: suite2p or imagej")

    def undo(self) -> None:
        self.session.undo()

    def redo(self) -> None:
        self.session.redo()

    def commit(self, *, curator: str, note: str = "") -> dict:
        """Store the set through ``Pipeline.commit_curation`` (one transaction), populate
        its ``CuratedTrace``, then discard the draft. Returns the new curation's key."""
        pipeline = self.inputs.pipeline
        if pipeline is None or not hasattr(pipeline, "commit_curation"):
            raise LookupError("This pipeline has no curation tables (commit_curation) yet.")
        rois = self.rois
        key = pipeline.commit_curation(
            self.inputs.roi_key, rois.masks(), list(rois.labels), list(rois.origins),
            [np.asarray(s, dtype=np.int64) for s in rois.sources], curator=curator, note=note,
            parent_curation_id=self.inputs.parent_curation_id,
            parent_kind=self.inputs.parent_kind,
        )
        pipeline.populate(key, tables=("CuratedTrace",))
        self.discard_draft()
        return dict(key)
