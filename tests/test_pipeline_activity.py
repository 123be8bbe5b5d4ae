"""``ActivityParams`` and ``Activity``: deconvolved events per ROI, made by ``populate``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiff_session

from napari_photon import spikes

DESIGN = {"n_frames": 150, "shape": (96, 96), "n_neurons": 8, "max_shift": 3, "seed": 4}


@pytest.fixture
def traced(pipeline) -> dict:
    session = tiff_session(pipeline, "activity", **DESIGN)
    pipeline.populate(session, tables=("Recording", "MotionCorrected", "ROI", "Trace"))
    key = (pipeline.ROI & session).keys()[0]
    assert len(pipeline.Trace & key) >= 4
    return key


def test_populate_infers_each_rois_events(pipeline, traced) -> None:
    key = traced
    assert len(pipeline.Activity.key_source & key) == 1
    results = {r.table: r for r in pipeline.populate(key, tables=("Activity",))}
    assert results["Activity"].done == 1 and not results["Activity"].errors
    rows = (pipeline.Trace & key).to_dicts(order_by="roi_id")
    made = (pipeline.Activity.Trace & key).to_dicts(order_by="roi_id")
    assert [r["roi_id"] for r in made] == [r["roi_id"] for r in rows]
    recording_rate = (pipeline.Recording & key).fetch1("frame_rate")
    rate = (pipeline.Activity & key).fetch1("frame_rate")
    assert rate == pytest.approx(recording_rate or 30.0)
    expected = spikes.deconvolve_traces(np.stack([r["dff"] for r in rows]), rate)
    for i, r in enumerate(made):
        np.testing.assert_allclose(r["events"], expected.events[i], rtol=1e-5, atol=1e-6)
        assert (r["events"] >= 0).all() and r["decay_s"] > 0
        assert len(r["denoised"]) == len(rows[i]["dff"])
    # the coefficient each trace was corrected with is stored beside it
    coefficients = [r["neuropil_coefficient"] for r in rows]
    assert all(0.0 <= c <= 2.0 for c in coefficients) and len(set(coefficients)) > 1


def test_a_parameter_set_can_fix_rate_and_decay(pipeline, traced) -> None:
    key = traced
    pipeline.ActivityParams.insert1({"activity_params_id": 2, "method": "oasis",
                                     "params": {"frame_rate": 15.0, "decay_s": 0.5},
                                     "description": "15 Hz, 0.5 s"})
    pipeline.populate(key, tables=("Activity",))
    second = {**key, "activity_params_id": 2}
    assert (pipeline.Activity & second).fetch1("frame_rate") == 15.0
    decays = (pipeline.Activity.Trace & second).to_arrays("decay_s")
    np.testing.assert_allclose(decays, 0.5, rtol=1e-6)
    assert len(pipeline.Activity & key) == 2


def test_a_bad_parameter_leaves_no_row(pipeline, traced) -> None:
    key = traced
    pipeline.ActivityParams.insert1({"activity_params_id": 3, "method": "oasis",
                                     "params": {"decay_s": -1.0}, "description": "bad"})
    bad = {**key, "activity_params_id": 3}
    with pytest.raises(ValueError, match="decay_s must be a positive number of seconds"):
        pipeline.populate(bad, tables=("Activity",))
    results = {r.table: r for r in pipeline.populate(bad, tables=("Activity",),
                                                     suppress_errors=True)}
    assert "decay_s" in str(results["Activity"].errors)
    assert len(pipeline.Activity & bad) == 0 and len(pipeline.Activity.Trace & bad) == 0
