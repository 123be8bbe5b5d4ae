"""Suggestions for the curation dock: a :class:`~napari_photon.curation.RoiClassifier`
trained on the committed curations of a pipeline, applied to the set being curated.

Each committed version (``Curation`` with its ``Curation.Mask`` rows) is one training
example: its masks' metrics (:func:`napari_photon.rois.roi_metrics` with its ROI row's
summary images), the trace features of its ``CuratedTrace`` rows
(:func:`napari_photon.curation.trace_features`; NaN where none is stored) and its labels.
Nothing is stored in the database; what the classifier was trained on goes into a JSON file
beside the curation's draft.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Suggestions", "current_features", "suggest", "summary_images", "training_examples"]

#: features never used: where an ROI lies says nothing of whether it is a cell
_LEFT_OUT = ("centroid_y", "centroid_x", "seed_y", "seed_x", "touches_border", "probability")
_TRACES = ("fluorescence", "neuropil", "dff")


@dataclass
class Suggestions:
    """What :func:`suggest` found.

    Attributes
    ----------
    probability : ndarray (n,)
        Probability that each ROI of the set is a cell.
    trained_on : list of dict
        The keys of the curations learnt from.
    counts : dict
        ROIs learnt from per label (``cell``, ``not cell``).
    features : list of str
    """

    probability: np.ndarray
    trained_on: list[dict]
    counts: dict[str, int]
    features: list[str]


def summary_images(images: Mapping[str, np.ndarray], n_frames: int) -> Any:
    """``mean``/``max``/``correlation`` images as :class:`~napari_photon.rois.SummaryImages`
    (for ROI metrics and the correlation split), or None without mean and correlation."""
    from ..rois._summary import SummaryImages

    if "mean" not in images or "correlation" not in images:
        return None
    mean = np.asarray(images["mean"], np.float32)
    return SummaryImages(mean=mean, max=np.asarray(images.get("max", mean), np.float32),
                         std=np.zeros_like(mean), correlation=np.asarray(images["correlation"],
                         np.float32), n_frames=n_frames)


def _trace_features(rows: list[dict], n: int) -> dict[str, np.ndarray]:
    """Trace features of the rows (``roi_id`` and traces each), NaN for ROIs without one."""
    from ..curation import trace_features

    rows = [r for r in rows if all(r.get(k) is not None for k in _TRACES)]
    if not rows:
        return {}
    found = trace_features(*(np.stack([r[k] for r in rows]) for k in _TRACES))
    ids = np.array([int(r["roi_id"]) for r in rows])
    out = {}
    for name, values in found.items():
        column = np.full(n, np.nan)
        column[ids] = values
        out[name] = column
    return out


def training_examples(pipeline: Any) -> list[tuple[dict, list[str], dict]]:
    """``(features, labels, curation key)`` of every committed curation in ``pipeline``."""
    from ..rois import roi_metrics

    examples, summaries = [], {}
    roi_fields = list(pipeline.ROI.primary_key)
    for key in pipeline.Curation.keys(order_by=list(pipeline.Curation.primary_key)):
        rows = (pipeline.Curation.Mask & key).fetch("mask", "label", as_dict=True,
                                                    order_by="roi_id")
        if not rows:
            continue
        roi_key = {k: key[k] for k in roi_fields}
        marker = json.dumps(roi_key, sort_keys=True, default=str)
        if marker not in summaries:
            row = (pipeline.ROI & roi_key).fetch1()
            images = {name: row[f"{name}_image"] for name in ("mean", "max", "correlation")
                      if row.get(f"{name}_image") is not None}
            n_frames = int((pipeline.MotionCorrected & roi_key).fetch1("corrected_movie").shape[0])
            summaries[marker] = summary_images(images, n_frames)
        masks = np.stack([np.asarray(r["mask"], bool) for r in rows])
        features = dict(roi_metrics(masks, summaries[marker]))
        traces = (pipeline.CuratedTrace & key).fetch("roi_id", *_TRACES, as_dict=True)
        features.update(_trace_features(traces, len(masks)))
        examples.append((features, [r["label"] for r in rows],
                         {k: str(v) for k, v in key.items()}))
    return examples


def current_features(model: Any) -> dict[str, np.ndarray]:
    """Features of the set ``model`` curates: its metrics, and the trace features of the
    ROIs whose stored traces are theirs (NaN for the others)."""
    rois = model.rois
    features = {k: np.asarray(v, np.float64) for k, v in rois.metrics.items()}
    sources = {roi: model.detected_id(roi) for roi in range(len(rois))}
    stored = model.inputs.traces.stored(sorted({s for s in sources.values() if s is not None}))
    rows = [{"roi_id": roi, **stored[s]} for roi, s in sources.items() if s in stored]
    features.update(_trace_features(rows, len(rois)))
    return features


def suggest(model: Any, examples: list | None = None) -> Suggestions:
    """Train a classifier on the pipeline's committed curations (or ``examples``) and give
    the probability that each ROI of ``model``'s set is a cell.

    Raises CurationError (a ValueError) when there is nothing to learn from (no curation,
    or no ROI labelled each way).
    """
    from ..curation import CurationError, RoiClassifier

    if examples is None:
        examples = training_examples(model.inputs.pipeline)
    if not examples:
        raise CurationError("No committed curation to learn from: commit one first.")
    features = current_features(model)
    names = set(features)
    for example in examples:
        names &= set(example[0])
    names = sorted(n for n in names - set(_LEFT_OUT)
                   if all(np.isfinite(np.asarray(e[0][n], float)).any() for e in examples))
    classifier = RoiClassifier(names).fit(examples)
    probability = classifier.predict_proba(features)
    return Suggestions(probability, list(classifier.trained_on), dict(classifier.counts), names)


def write_trained_on(path: str | Path, found: Suggestions) -> Path:
    """Keep what the suggestions were learnt from in ``path`` (JSON)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"trained_on": found.trained_on, "counts": found.counts,
                                "features": found.features}, indent=1))
    return path


def read_trained_on(path: str | Path) -> Mapping[str, Any] | None:
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None
