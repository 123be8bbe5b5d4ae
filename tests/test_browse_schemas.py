"""Schema discovery (``<photon@>`` columns), schema activation and generic schemas."""

from __future__ import annotations

import numpy as np
import pytest

FOREIGN = "test_browse_foreign"
PLAIN = "test_browse_plain"


@pytest.fixture
def foreign(pipeline):
    """A non-pipeline schema with a ``<photon@>`` table, and one without any."""
    import datajoint as dj

    connection = pipeline.schema.connection
    schema = dj.Schema(FOREIGN, connection=connection)

    @schema
    class Scan(dj.Manual):
        definition = """
        scan_id : int32
        ---
        movie : <photon@>
        """

    plain = dj.Schema(PLAIN, connection=connection)

    @plain
    class Note(dj.Manual):
        definition = """
        note_id : int32
        """

    rng = np.random.default_rng(0)
    for scan_id in (1, 2):
        if not Scan & {"scan_id": scan_id}:
            Scan.insert1(
                {"scan_id": scan_id, "movie": rng.poisson(5, (6, 16, 16)).astype(np.uint16)}
            )
    return Scan


def test_discover_lists_schemas_with_photon_columns(pipeline, foreign):
    from napari_photon.browse import default_schema, discover_schemas

    schemas = {s.name: s for s in discover_schemas(pipeline.schema.connection)}
    assert schemas[pipeline.database].is_pipeline
    assert f'"{pipeline.database}"."_recording"' in schemas[pipeline.database].photon_tables
    assert not schemas[FOREIGN].is_pipeline
    assert schemas[FOREIGN].photon_tables == ('"test_browse_foreign"."scan"',)
    assert schemas[FOREIGN].label == f"{FOREIGN} (1 photon tables)"
    assert PLAIN not in schemas
    listed = list(schemas.values())
    assert default_schema(listed) == pipeline.database  # the pipeline's schema is preselected
    assert default_schema(listed, preferred="nope") in {s.name for s in listed if s.is_pipeline}


def test_activate_schema_binds_the_pipeline_and_refuses_others(pipeline, foreign):
    from napari_photon.browse import SchemaInfo, activate_schema

    connection = pipeline.schema.connection
    opened = activate_schema(connection, SchemaInfo(pipeline.database, (), True))
    assert opened is pipeline  # the same Pipeline object for the same schema and connection
    assert opened.Recording.database == pipeline.database
    with pytest.raises(ValueError, match="not a napari-photon pipeline"):
        activate_schema(connection, SchemaInfo(FOREIGN, ('"x"."y"',), False))


def test_generic_schema_rows_open_lazily(pipeline, foreign):
    import dask.array as da

    from napari_photon.browse import (
        KeyFilter,
        discover_schemas,
        filterable_attributes,
        load_tables,
        row_layers,
    )

    connection = pipeline.schema.connection
    (info,) = [s for s in discover_schemas(connection) if s.name == FOREIGN]
    (table,) = load_tables(connection, info)
    assert [r.key for r in table.rows] == [{"scan_id": 1}, {"scan_id": 2}]
    assert table.label.endswith("(2 rows)")
    only = KeyFilter.parse("scan_id=2", filterable_attributes([foreign()]), bare="scan_id")
    (filtered,) = load_tables(connection, info, only)
    assert [r.key for r in filtered.rows] == [{"scan_id": 2}]
    ((data, kwargs, kind),) = row_layers(connection, table.rows[0])
    assert kind == "image" and isinstance(data, da.Array) and data.shape == (6, 16, 16)
    assert kwargs["metadata"]["key"] == {"scan_id": 1}
    (photons,) = row_layers(connection, table.rows[0], "photons")
    assert photons[0].compute().mean() == pytest.approx(5, rel=0.2)
