"""Remove zarrs written by a block of code when that block fails.

DataJoint encodes a value (writing the zarr) before it inserts the row. If the insert then
fails (duplicate key, a rolled-back transaction, an exception later in ``make``), the zarr
would be left behind with no row pointing at it. Every ``<photon@>`` write is recorded in
the open scopes of its thread; a scope that exits with an exception removes what it recorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ._location import ZarrLocation

logger = logging.getLogger(__name__)
_local = threading.local()


def _stack() -> list[list[ZarrLocation]]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def record_write(location: ZarrLocation) -> None:
    """Note a finished zarr write in every open scope of this thread."""
    for scope in _stack():
        scope.append(location)


@contextmanager
def remove_on_failure() -> Iterator[list[ZarrLocation]]:
    """Run a block; if it raises, remove every zarr written inside it, then re-raise."""
    scope: list[ZarrLocation] = []
    _stack().append(scope)
    try:
        yield scope
    except BaseException:
        for location in scope:
            try:
                location.remove()
            except Exception:  # the original error matters more; gc can finish the job
                logger.exception("could not remove %s after a failed insert", location.describe())
        raise
    finally:
        _stack().pop()
