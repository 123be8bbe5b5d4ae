"""DataJoint log records that repeat what the pipeline intends, said once per process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["design_document_types", "design_document_types_quiet", "once_per_roi_set_table"]

_PER_ROI_SET = "Ignoring non-FK primary key attribute 'roi_id'"


def design_document_types(record: logging.LogRecord) -> bool:
    """Keep DataJoint's warning about native types for every table but ours: the design
    document fixes ``int`` and ``float``, so the warning tells our users nothing. A jobs
    table copies its table's key with the server's own spelling (PostgreSQL's
    ``integer``), hence the prefix. (Added while the pipeline's tables and their jobs
    tables are declared, removed after: :func:`design_document_types_quiet`.)"""
    message = record.getMessage()
    return not message.startswith(("Native type 'int", "Native type 'float'"))


@contextmanager
def design_document_types_quiet() -> Iterator[None]:
    """Drop the native-type warnings of :func:`design_document_types` inside the block."""
    logger = logging.getLogger("datajoint")
    logger.addFilter(design_document_types)
    try:
        yield
    finally:
        logger.removeFilter(design_document_types)


class _OncePerTable(logging.Filter):
    """DataJoint warns at every use of a jobs table that ``roi_id`` (in the primary key of
    ``Trace`` and ``CuratedTrace``, not from a foreign key) is left out of the job's key.
    One job per ROI set is what the pipeline does (a make extracts every ROI of a set in
    one pass), so the warning is passed on once per table and process, not at every poll
    of a worker."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(_PER_ROI_SET):
            return True
        with self._lock:
            first = message not in self._seen
            self._seen.add(message)
        return first


_FILTER = _OncePerTable()


def once_per_roi_set_table() -> None:
    """Pass DataJoint's per-ROI-set jobs warning once per table and process (installed
    once; calling again does nothing)."""
    logger = logging.getLogger("datajoint")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
