"""Suggestions from a classifier trained on a lab's committed curations.

:class:`RoiClassifier` is scikit-learn's logistic regression on standardized features
(``Pipeline([StandardScaler, LogisticRegression])``). Features are per-ROI numbers by
name: the ROI metrics of a :class:`RoiSet` (area, compactness, correlation, contrast, ...)
and trace features from :func:`trace_features` (SNR, skewness, ...). Each training example
is one committed curation: its features and its labels (``"unsure"`` ROIs are left out).
Missing values (NaN, such as the trace features of a ROI made by curation) are replaced by
the training median of that feature. :meth:`RoiClassifier.to_dict` gives plain JSON
values (coefficients, scaler, medians, feature names, what it was trained on) for a
database row, and :meth:`RoiClassifier.from_dict` rebuilds the same classifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import traces
from ._errors import CurationError
from ._roiset import LABELS

__all__ = ["RoiClassifier", "trace_features"]

EXCLUDED_FEATURES = ("centroid_y", "centroid_x", "probability")
"""Metrics not used by default: where a ROI is says nothing about whether it is a cell,
and ``probability`` is another classifier's answer."""


def trace_features(fluorescence: np.ndarray, neuropil: np.ndarray, dff: np.ndarray, *,
                   neuropil_coefficient: float = 0.7) -> dict[str, np.ndarray]:
    """Trace features per ROI from ``Trace`` rows: ``snr``, ``skew``, ``noise``, ``dff_peak``.

    The arrays are (n, t), row ``i`` for ``roi_id`` i; computed by
    :func:`napari_photon.traces.trace_metrics`.
    """
    fluorescence = np.asarray(fluorescence, np.float32)
    neuropil = np.asarray(neuropil, np.float32)
    dff = np.asarray(dff, np.float32)
    if not fluorescence.shape == neuropil.shape == dff.shape or fluorescence.ndim != 2:
        raise CurationError(f"fluorescence, neuropil and dff must be (n, t) arrays of one "
                            f"shape, not {fluorescence.shape}, {neuropil.shape}, {dff.shape}")
    result = traces.TraceResult(
        fluorescence=fluorescence, neuropil=neuropil, dff=dff, baseline=np.zeros_like(dff),
        neuropil_masks=np.zeros((len(dff), 0, 0), bool),
        params={"neuropil_coefficient": float(neuropil_coefficient)})
    return traces.trace_metrics(result)


def _target(labels: Sequence[str], n: int, which: int) -> np.ndarray:
    labels = list(labels)
    if len(labels) != n:
        raise CurationError(f"example {which} has {len(labels)} labels for {n} ROIs")
    for label in labels:
        if label not in LABELS:
            raise CurationError(f"example {which}: unknown label {label!r}; a label is one "
                                f"of {', '.join(LABELS)}")
    return np.array([{"cell": 1, "not cell": 0}.get(label, -1) for label in labels])


class RoiClassifier:
    """Probability that a ROI is a cell, from its features.

    Parameters
    ----------
    feature_names : sequence of str, optional
        Features to use; default: every numeric feature all training examples have, less
        :data:`EXCLUDED_FEATURES`.
    C : float
        Inverse regularization strength of the logistic regression.
    """

    def __init__(self, feature_names: Sequence[str] | None = None, *, C: float = 1.0) -> None:
        self.feature_names = None if feature_names is None else tuple(feature_names)
        self.C = float(C)
        self.trained_on: list[Any] = []
        self.counts: dict[str, int] = {}
        self.medians: np.ndarray | None = None
        self.pipeline: Any = None

    @staticmethod
    def _matrix(features: Mapping[str, Any], names: Sequence[str], which: str) -> np.ndarray:
        missing = [name for name in names if name not in features]
        if missing:
            raise CurationError(f"{which} lacks feature(s) {', '.join(missing)}; the "
                                f"classifier uses {', '.join(names)}")
        columns = [np.asarray(features[name], np.float64).ravel() for name in names]
        if len({c.size for c in columns}) > 1:
            raise CurationError(f"{which}: features have different lengths "
                                f"{sorted({c.size for c in columns})}; one value per ROI")
        return np.stack(columns, axis=1) if columns else np.zeros((0, 0))

    def fit(self, examples: Sequence[tuple[Any, ...]]) -> RoiClassifier:
        """Train on ``examples``: each ``(features, labels)`` or ``(features, labels, id)``.

        ``features`` maps a name to one value per ROI, ``labels`` gives each ROI's label,
        ``id`` names the curation (a JSON value, such as its table key; default its
        position) and goes into :attr:`trained_on`. Returns ``self``.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        examples = list(examples)
        if not examples:
            raise CurationError("fit needs at least one curation to learn from")
        for k, example in enumerate(examples):
            if not isinstance(example, tuple) or len(example) not in (2, 3):
                raise CurationError(f"example {k} must be (features, labels) or "
                                    f"(features, labels, id)")
        names = self.feature_names
        if names is None:
            common = set.intersection(*(set(e[0]) for e in examples))
            names = tuple(sorted(
                name for name in common - set(EXCLUDED_FEATURES)
                if all(np.asarray(e[0][name]).dtype.kind in "biuf" for e in examples)))
            if not names:
                raise CurationError("the examples share no numeric feature")
        rows, targets = [], []
        for k, example in enumerate(examples):
            matrix = self._matrix(example[0], names, f"example {k}")
            rows.append(matrix)
            targets.append(_target(example[1], len(matrix), k))
        x, y = np.concatenate(rows), np.concatenate(targets)
        x, y = x[y >= 0], y[y >= 0]
        counts = {"cell": int((y == 1).sum()), "not cell": int((y == 0).sum())}
        if min(counts.values()) == 0:
            raise CurationError(f"training needs ROIs labelled both cell and not cell; the "
                                f"examples have {counts['cell']} cell and "
                                f"{counts['not cell']} not cell")
        with np.errstate(all="ignore"):
            medians = np.nanmedian(np.where(np.isfinite(x), x, np.nan), axis=0) \
                if len(x) else np.zeros(x.shape[1])
        medians = np.nan_to_num(medians)
        self.pipeline = Pipeline([
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=self.C, max_iter=1000)),
        ]).fit(np.where(np.isfinite(x), x, medians), y)
        self.feature_names, self.medians = names, medians
        self.trained_on = [e[2] if len(e) == 3 else k for k, e in enumerate(examples)]
        self.counts = counts
        return self

    def _impute(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(x), x, self.medians)

    def predict_proba(self, features: Mapping[str, Any]) -> np.ndarray:
        """Probability of ``"cell"`` for each ROI, float64 (n,)."""
        if self.pipeline is None:
            raise CurationError("the classifier is not trained: call fit() or from_dict()")
        x = self._matrix(features, self.feature_names, "features")
        if len(x) == 0:
            return np.zeros(0)
        return self.pipeline.predict_proba(self._impute(x))[:, 1]

    def suggest(self, features: Mapping[str, Any], *, low: float = 0.3, high: float = 0.7
                ) -> list[str]:
        """A suggested label per ROI: cell at p >= ``high``, not cell at p <= ``low``,
        unsure between."""
        p = self.predict_proba(features)
        return ["cell" if v >= high else "not cell" if v <= low else "unsure" for v in p]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values that :meth:`from_dict` turns back into this classifier."""
        if self.pipeline is None:
            raise CurationError("the classifier is not trained: nothing to store")
        scaler, model = self.pipeline.named_steps["scale"], self.pipeline.named_steps["model"]
        return {
            "kind": "logistic regression", "version": 1,
            "feature_names": list(self.feature_names), "C": self.C,
            "medians": self.medians.tolist(),
            "scaler": {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
            "coefficients": model.coef_[0].tolist(), "intercept": float(model.intercept_[0]),
            "trained_on": list(self.trained_on), "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> RoiClassifier:
        """The classifier :meth:`to_dict` described."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        if stored.get("kind") != "logistic regression" or stored.get("version") != 1:
            raise CurationError("not a stored RoiClassifier (kind 'logistic regression', "
                                "version 1)")
        self = cls(stored["feature_names"], C=stored["C"])
        k = len(self.feature_names)
        scaler = StandardScaler()
        scaler.mean_ = np.asarray(stored["scaler"]["mean"], np.float64)
        scaler.scale_ = np.asarray(stored["scaler"]["scale"], np.float64)
        scaler.var_ = scaler.scale_ ** 2
        scaler.n_features_in_ = k
        scaler.n_samples_seen_ = sum(stored["counts"].values())
        model = LogisticRegression(C=self.C)
        model.coef_ = np.asarray(stored["coefficients"], np.float64).reshape(1, k)
        model.intercept_ = np.asarray([stored["intercept"]], np.float64)
        model.classes_ = np.array([0, 1])
        model.n_features_in_ = k
        self.pipeline = Pipeline([("scale", scaler), ("model", model)])
        self.medians = np.asarray(stored["medians"], np.float64)
        self.trained_on = list(stored["trained_on"])
        self.counts = dict(stored["counts"])
        return self
