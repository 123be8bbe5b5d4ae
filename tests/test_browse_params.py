"""Parameter sets: listing, fields from the algorithm's signature, adding edited sets."""

from __future__ import annotations


def test_parameter_sets_and_new_ones_are_reused(pipeline):
    from napari_photon.browse import ensure_parameter_set, json_attribute, parameter_sets

    table = pipeline.MotionParams()
    assert json_attribute(table) == "params"
    sets = parameter_sets(table)
    base = sets[0]
    assert base.key == {"motion_params_id": 1} and isinstance(base.params, dict)
    assert base.label.startswith("1: rigid")

    same = ensure_parameter_set(table, dict(base.params), base)
    assert same.key == base.key  # identical values: the stored set, nothing inserted
    assert len(parameter_sets(table)) == len(sets)

    edited = {**base.params, "reference_frames": 17}
    new = ensure_parameter_set(table, edited, base)
    assert new.key["motion_params_id"] == max(s.key["motion_params_id"] for s in sets) + 1
    assert (table & new.key).fetch1("params") == edited
    assert (table & new.key).fetch1("method") == base.row["method"]
    assert ensure_parameter_set(table, dict(edited), base).key == new.key
    other = ensure_parameter_set(table, dict(edited), base, method="piecewise")
    assert other.key != new.key and other.row["method"] == "piecewise"


def test_fields_follow_the_function_signature(pipeline):
    from napari_photon.browse import ParameterField, enum_choices, parameter_fields

    def detect(
        movie,
        *,
        method="a",
        threshold: float = 6.0,
        min_area: int = 30,
        smooth: bool = True,
        units: str = "auto",
        tile: int | None = None,
        shape: tuple = (1, 2),
        progress=None,
        frames_per_chunk: int | None = None,
    ):
        """An algorithm with keyword parameters."""

    assert parameter_fields(detect) == [
        ParameterField("threshold", float, 6.0),
        ParameterField("min_area", int, 30),
        ParameterField("smooth", bool, True),
        ParameterField("units", str, "auto"),
        ParameterField("tile", int, None),
    ]
    assert enum_choices(pipeline.MotionParams(), "method") == ["rigid", "piecewise", "imported"]
    assert enum_choices(pipeline.MotionParams(), "description") == []
