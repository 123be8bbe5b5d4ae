"""``pipeline.activate`` returns a Pipeline per schema; several live side by side."""

from __future__ import annotations

import pytest
from conftest import tiff_session

from napari_photon import pipeline as module


def test_two_pipelines_side_by_side(photon_home):
    lab_a = module.activate("test_pipeline_objects_a")
    lab_b = module.activate("test_pipeline_objects_b")
    assert lab_a is not lab_b and lab_a.Mouse is not lab_b.Mouse
    assert (lab_a.database, lab_b.database) == ("test_pipeline_objects_a", "test_pipeline_objects_b")
    assert module.activate("test_pipeline_objects_a") is lab_a  # one object per schema
    assert module.Mouse is lab_a.Mouse  # the module's names: the pipeline activated last

    key_a = tiff_session(lab_a, "a", n_files=2)
    key_b = tiff_session(lab_b, "b")
    lab_b.populate(key_b, tables=("Recording", "MotionCorrected"))
    assert len(lab_a.Recording()) == 0 and len(lab_a.MotionCorrected()) == 0  # untouched
    assert len(lab_b.Recording & key_b) == 1 and len(lab_b.MotionCorrected & key_b) == 1

    lab_a.populate(key_a, tables=("Recording",))
    assert len(lab_a.Recording & key_a) == 2
    assert len(lab_b.Recording()) == 1  # b still holds only its own
    counts_a = {c.table: c for c in lab_a.job_counts()}
    counts_b = {c.table: c for c in lab_b.job_counts()}
    assert counts_a["MotionCorrected"].pending == 2 and counts_a["MotionCorrected"].done == 0
    assert counts_b["MotionCorrected"].done == 1 and counts_b["MotionCorrected"].pending == 0
    events = list(lab_a.run_populate(key_a, tables=("MotionCorrected",)))
    assert events[-1].n_done == 2
    assert len(lab_b.MotionCorrected()) == 1  # a's run made nothing in b


def test_store_per_pipeline(photon_home):
    import datajoint as dj

    stores = dj.config["stores"]
    assert {"active", "archive"} <= set(stores)  # the project's defaults
    archived = module.activate("test_pipeline_objects_store", store="archive")
    assert archived.Recording.heading.attributes["raw_movie"].store == "archive"
    key = tiff_session(archived, "s")
    archived.populate(key, tables=("Recording",))
    assert (archived.Recording & key).fetch1("raw_movie").store == "archive"


def test_names_before_activation_and_unknown_tables(photon_home):
    lab = module.activate("test_pipeline_objects_a")
    with pytest.raises(ValueError, match="not a table of the pipeline"):
        lab.table("Nope")
    with pytest.raises(AttributeError, match="no attribute"):
        module.NotATable  # noqa: B018 - the module's __getattr__ refuses unknown names
