"""DataJoint's log records the pipeline passes on once, or not at all."""

from __future__ import annotations

import logging

from napari_photon.pipeline import _log_filters
from napari_photon.pipeline._log_filters import design_document_types, once_per_roi_set_table


def _warn_per_roi_set(table: str) -> None:
    logging.getLogger("datajoint").warning(
        f"Ignoring non-FK primary key attribute 'roi_id' in jobs table for {table}. "
        "Job granularity will be degraded.")


def test_the_per_roi_set_jobs_warning_is_passed_once_per_table(caplog):
    once_per_roi_set_table()
    once_per_roi_set_table()  # installed once
    assert logging.getLogger("datajoint").filters.count(_log_filters._FILTER) == 1
    with caplog.at_level(logging.WARNING, logger="datajoint"):
        for _ in range(3):
            _warn_per_roi_set('"log_filter_test"."__trace"')
            _warn_per_roi_set('"log_filter_test"."__curated_trace"')
        logging.getLogger("datajoint").warning("another warning")
        logging.getLogger("datajoint").warning("another warning")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("__trace" in m for m in messages) == 1
    assert sum("__curated_trace" in m for m in messages) == 1
    assert messages.count("another warning") == 2  # other records pass untouched


def test_native_type_warnings_of_the_design_document_are_dropped():
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("datajoint", logging.WARNING, __file__, 1, message, (), None)

    assert not design_document_types(record("Native type 'int' is used in ..."))
    assert design_document_types(record("Native type 'blob' is used in ..."))


def test_declaring_jobs_tables_says_nothing_of_the_design_documents_types(pipeline, caplog):
    """A jobs table copies its table's key as the server spells it (PostgreSQL's
    ``integer``): a worker's first pass printed a dozen native-type warnings."""
    from napari_photon.pipeline._counts import jobs_table

    tables = [pipeline.table(name) for name in ("MotionCorrected", "ROI", "Trace")]
    assert pipeline.schema.jobs == []  # none declared yet (a schema of this module's own)
    with caplog.at_level(logging.WARNING, logger="datajoint"):
        for table in tables:
            assert jobs_table(table).is_declared
    native = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Native")]
    assert native == []
    assert logging.getLogger("datajoint").filters.count(design_document_types) == 0
