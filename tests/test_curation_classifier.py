"""RoiClassifier: learning from committed curations, storing as JSON, trace features."""

from __future__ import annotations

import json

import numpy as np
import pytest
from curation_helpers import sample_set
from scipy import stats

from napari_photon import traces
from napari_photon.curation import CurationError, RoiClassifier, trace_features


def _curation(seed: int, n: int = 120):
    """Features and labels of one synthetic curation: cells correlate and fire."""
    rng = np.random.default_rng(seed)
    cell = rng.random(n) < 0.5
    features = {
        "area": rng.normal(80, 20, n),
        "compactness": np.where(cell, rng.normal(0.9, 0.05, n), rng.normal(0.7, 0.1, n)),
        "correlation": np.where(cell, rng.normal(0.5, 0.1, n), rng.normal(0.2, 0.1, n)),
        "snr": np.where(cell, rng.normal(8, 2, n), rng.normal(3, 2, n)),
        "centroid_y": rng.uniform(0, 512, n), "centroid_x": rng.uniform(0, 512, n),
    }
    labels = np.where(cell, "cell", "not cell").astype(object)
    labels[rng.random(n) < 0.1] = "unsure"
    return features, list(labels), cell


def test_trained_on_curations_it_separates_cells_from_the_rest():
    examples = [_curation(s)[:2] + ({"curation_id": s},) for s in (1, 2)]
    classifier = RoiClassifier().fit(examples)
    assert classifier.feature_names == ("area", "compactness", "correlation", "snr")
    assert classifier.trained_on == [{"curation_id": 1}, {"curation_id": 2}]
    features, _, cell = _curation(3)
    p = classifier.predict_proba(features)
    assert p.shape == (120,) and np.all((p >= 0) & (p <= 1))
    assert ((p > 0.5) == cell).mean() > 0.9
    suggested = classifier.suggest(features, low=0.2, high=0.8)
    assert set(suggested) <= {"cell", "not cell", "unsure"}
    assert all(s == "cell" for s, v in zip(suggested, p) if v >= 0.8)
    assert all(s == "unsure" for s, v in zip(suggested, p) if 0.2 < v < 0.8)
    # examples without an id are named by their position
    assert RoiClassifier().fit([_curation(1)[:2]]).trained_on == [0]


def test_unsure_rois_are_left_out_of_training():
    features, labels, _ = _curation(1)
    classifier = RoiClassifier().fit([(features, labels)])
    sure = sum(label != "unsure" for label in labels)
    assert sum(classifier.counts.values()) == sure


def test_stored_as_json_it_predicts_the_same():
    classifier = RoiClassifier(["correlation", "snr", "area"], C=0.5).fit(
        [_curation(1)[:2] + ("first",), _curation(2)[:2] + ("second",)])
    stored = json.loads(json.dumps(classifier.to_dict()))
    assert stored["feature_names"] == ["correlation", "snr", "area"]
    assert stored["trained_on"] == ["first", "second"]
    back = RoiClassifier.from_dict(stored)
    features = _curation(4)[0]
    np.testing.assert_allclose(back.predict_proba(features), classifier.predict_proba(features),
                               rtol=1e-12)
    assert back.trained_on == ["first", "second"] and back.C == 0.5


def test_missing_values_take_the_training_median():
    features, labels, _ = _curation(1)
    classifier = RoiClassifier(["correlation", "snr"]).fit([(features, labels)])
    test = {"correlation": np.array([0.5, 0.5]), "snr": np.array([np.nan, 0.0])}
    filled = {"correlation": test["correlation"],
              "snr": np.array([classifier.medians[1], 0.0])}
    np.testing.assert_allclose(classifier.predict_proba(test), classifier.predict_proba(filled))


def test_a_roisets_metrics_are_features():
    roiset = sample_set()
    labels = ["cell", "not cell", "cell", "not cell", "not cell", "cell"]
    classifier = RoiClassifier().fit([(dict(roiset.metrics), labels, "sample")])
    assert "correlation" in classifier.feature_names
    assert "centroid_x" not in classifier.feature_names
    assert classifier.predict_proba(dict(roiset.metrics)).shape == (6,)


def test_bad_training_or_prediction_input_is_refused():
    features, labels, _ = _curation(1)
    with pytest.raises(CurationError, match="not trained"):
        RoiClassifier().predict_proba(features)
    with pytest.raises(CurationError, match="not trained"):
        RoiClassifier().to_dict()
    with pytest.raises(CurationError, match="at least one curation"):
        RoiClassifier().fit([])
    with pytest.raises(CurationError, match="both cell and not cell.*0 not cell"):
        RoiClassifier().fit([(features, ["cell"] * 120)])
    with pytest.raises(CurationError, match="3 labels for 120 ROIs"):
        RoiClassifier().fit([(features, ["cell"] * 3)])
    with pytest.raises(CurationError, match="unknown label 'yes'"):
        RoiClassifier().fit([(features, ["yes"] * 120)])
    with pytest.raises(CurationError, match=r"\(features, labels\)"):
        RoiClassifier().fit([features])
    with pytest.raises(CurationError, match="example 0 lacks feature.*skew"):
        RoiClassifier(["snr", "skew"]).fit([(features, labels)])
    classifier = RoiClassifier().fit([(features, labels)])
    with pytest.raises(CurationError, match="features lacks feature.*snr"):
        classifier.predict_proba({k: v for k, v in features.items() if k != "snr"})
    with pytest.raises(CurationError, match="different lengths"):
        classifier.predict_proba({**features, "snr": np.zeros(3)})
    with pytest.raises(CurationError, match="not a stored RoiClassifier"):
        RoiClassifier.from_dict({"kind": "forest"})


def test_trace_features_are_the_pipelines_trace_metrics():
    rng = np.random.default_rng(0)
    t = 600
    quiet = 100 + rng.normal(0, 1, (1, t))
    spikes = np.zeros(t)
    spikes[rng.choice(t, 12, replace=False)] = 40
    active = 100 + np.convolve(spikes, np.exp(-np.arange(30) / 8))[:t] + rng.normal(0, 1, t)
    fluorescence = np.vstack([quiet, active[None]]).astype(np.float32)
    neuropil = np.full_like(fluorescence, 20)
    dff, _ = traces.delta_f_over_f(fluorescence, neuropil)
    found = trace_features(fluorescence, neuropil, dff)
    assert set(found) == {"snr", "skew", "noise", "dff_peak"}
    assert found["snr"][1] > 3 * found["snr"][0] and found["skew"][1] > found["skew"][0] + 1
    expected_skew = stats.skew(fluorescence - 0.7 * neuropil, axis=-1)
    np.testing.assert_allclose(found["skew"], expected_skew, rtol=1e-4)
    with pytest.raises(CurationError, match=r"\(n, t\) arrays of one shape"):
        trace_features(fluorescence, neuropil[:, :10], dff)
