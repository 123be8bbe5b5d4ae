"""``browse.KeyFilter``: filter-box text to DataJoint dict restrictions, never SQL."""

from __future__ import annotations

import datetime

import pytest
from datajoint.heading import Attribute, default_attribute_properties


def _attr(name, sql_type, original=None):
    return Attribute(
        **{
            **default_attribute_properties,
            "name": name,
            "type": sql_type,
            "original_type": original,
        }
    )


ATTRIBUTES = {
    "mouse_id": _attr("mouse_id", "varchar(32)"),
    "session_date": _attr("session_date", "date"),
    "recording_num": _attr("recording_num", "integer", "int32"),
    "frame_rate": _attr("frame_rate", "double precision", "float64"),
    "sex": _attr("sex", "enum_e54fc739", "enum('M', 'F', 'U')"),
    "experimenter": _attr("experimenter", "varchar(64)"),
}


def parse(text):
    from napari_photon.browse import KeyFilter

    return KeyFilter.parse(text, ATTRIBUTES)


def test_values_are_typed_and_grouped():
    f = parse("M001, mouse_id=M002|M001; session_date=2026-11-25 recording_num=2 frame_rate:15")
    assert f.terms == {
        "mouse_id": ("M001", "M002"),
        "session_date": (datetime.date(2026, 11, 25),),
        "recording_num": (2,),
        "frame_rate": (15.0,),
    }
    assert f.restrictions(["mouse_id", "recording_num"]) == [
        [{"mouse_id": "M001"}, {"mouse_id": "M002"}],
        [{"recording_num": 2}],
    ]
    assert parse(f.describe()).terms == f.terms


def test_quotes_keep_spaces_and_sql_stays_a_value():
    f = parse('experimenter="Ann Smith" sex=M')
    assert f.terms == {"experimenter": ("Ann Smith",), "sex": ("M",)}
    hostile = parse('mouse_id="x\' OR 1=1 --"')
    assert hostile.restrictions() == [[{"mouse_id": "x' OR 1=1 --"}]]
    assert not parse("  ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cage=3", "unknown attribute 'cage'"),
        ("recording_num=two", "recording_num takes a number"),
        ("session_date=25/11/2026", "takes a date like 2026-11-25"),
        ("mouse_id=", "mouse_id= needs a value"),
        ('mouse_id="M001', "cannot read the filter"),
    ],
)
def test_errors_are_readable(text, message):
    from napari_photon.browse import FilterError

    with pytest.raises(FilterError, match=message):
        parse(text)


def test_restrict_applies_only_attributes_the_table_has(pipeline):
    from napari_photon.browse import KeyFilter, filterable_attributes

    attributes = filterable_attributes([pipeline.Mouse(), pipeline.Recording()])
    assert "raw_movie" not in attributes and "calibration" not in attributes  # codec / json
    f = KeyFilter.parse("mouse_id=987654 recording_num=1", attributes)
    assert f.applies_to(pipeline.Mouse()) == {"mouse_id"}
    assert len(f.restrict(pipeline.Mouse())) == 0
    assert len(f.restrict(pipeline.Recording())) == 0
