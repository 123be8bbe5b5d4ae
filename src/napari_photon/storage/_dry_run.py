"""Dry runs: a table's ``make`` runs as in populate, its inserts are kept, nothing is stored.

Inside :func:`dry_run`, the insert of a :class:`~napari_photon.storage.DryRunTable`
(every :class:`~napari_photon.storage.PhotonTable` is one) keeps its rows in the
:class:`DryRun` instead of sending them to the database, and reads each ``<photon@>``
value through as a write would (the same blocks, progress and cancel checks; see
:func:`~napari_photon.storage._writer.read_through`), writing no zarr::

    with dry_run() as run:
        table.make(key)
    rows = run.rows_of(table)       # what make would have inserted
    qc = run.rows_of(table.QC)      # part tables too
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ._options import current_write_options
from ._source import MovieSource
from ._writer import read_through


@dataclass
class DryRun:
    """The rows inserted inside :func:`dry_run`, by table; nothing of them stored.

    Attributes
    ----------
    rows : dict
        ``{full table name: [row dict, ...]}``. ``<photon@>`` values are the lazy inputs
        the codec would have encoded (e.g. ``Stabilized(corrected, calibration)``).
    """

    rows: dict[str, list[dict]] = field(default_factory=dict)

    def rows_of(self, table: Any) -> list[dict]:
        """The rows inserted into ``table`` (a DataJoint table class or instance)."""
        return self.rows.get(table.full_table_name, [])

    def record(self, table_name: str, rows: Iterable[Any], photon: Iterable[str]) -> None:
        """Keep ``rows`` for ``table_name``, reading their ``photon`` values through."""
        photon = set(photon)
        kept = []
        for row in rows:
            row = dict(row)
            for name in photon & set(row):
                read_through(MovieSource(row[name]), current_write_options())
            kept.append(row)
        self.rows.setdefault(table_name, []).extend(kept)


_current: contextvars.ContextVar[DryRun | None] = contextvars.ContextVar(
    "napari_photon_dry_run", default=None
)


def current_dry_run() -> DryRun | None:
    """The dry run inserts in this context go to, or None: inserts store."""
    return _current.get()


@contextmanager
def dry_run() -> Iterator[DryRun]:
    """Inserts into :class:`~napari_photon.storage.DryRunTable` tables inside the block
    store nothing; the rows they would have stored are kept in the :class:`DryRun`
    yielded."""
    run = DryRun()
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)

