"""DataJoint tables with ``<photon@>`` columns: no orphan zarrs from failed inserts or deletes.

Use :class:`PhotonTable` as the first base of any table with a ``<photon@>`` column::

    @schema
    class Scan(PhotonTable, dj.Imported):
        ...

A failed insert removes the zarrs it wrote; deleting rows removes the zarrs of the deleted
rows (and of rows the delete cascaded to). :func:`collect_garbage` sweeps what an outside
transaction rolled back after a successful insert.

Inside :func:`~napari_photon.storage.dry_run`, the inserts of a :class:`DryRunTable`
(every :class:`PhotonTable` is one; tables without ``<photon@>`` columns that a ``make``
fills use it as their first base) store nothing: the rows are kept in the dry run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import datajoint as dj

from ._dry_run import current_dry_run
from ._location import ZarrLocation
from ._scope import remove_on_failure


class DryRunTable:
    """Mixin: inside :func:`~napari_photon.storage.dry_run`, ``insert``/``insert1`` keep
    the rows in the dry run (``<photon@>`` values read through, no zarr written) instead
    of storing them."""

    def insert(self, rows, **kwargs):
        run = current_dry_run()
        if run is None:
            return super().insert(rows, **kwargs)
        run.record(self.full_table_name, rows, photon_attributes(self))
        return None


class PhotonTable(DryRunTable):
    """Mixin: a failed insert removes the zarrs it wrote; deleted rows take theirs along;
    a dry run stores nothing (:class:`DryRunTable`)."""

    def insert(self, rows, **kwargs):
        with remove_on_failure():
            return super().insert(rows, **kwargs)

    def delete(self, *args, **kwargs):
        return delete_with_zarrs(self, super().delete, *args, **kwargs)


def photon_attributes(table: Any) -> list[str]:
    return [
        name
        for name, attr in table.heading.attributes.items()
        if attr.codec is not None and attr.codec.name == "photon"
    ]


def _photon_values(table: Any) -> list[tuple[str, str, str]]:
    """(store, path, table name) of every ``<photon@>`` value in ``table`` (no zarr opened)."""
    found = []
    for field in photon_attributes(table):
        for row in table.proj(field).to_dicts():
            found.append((row[field].store, row[field].path, table.full_table_name))
    return found


def _referenced(table: Any) -> list[tuple[str, str, str]]:
    """``<photon@>`` values in the rows of ``table`` and in the rows that depend on them."""
    found = []
    for name in table.descendants(as_objects=False):
        child = dj.FreeTable(table.connection, name)
        if photon_attributes(child):
            found += _photon_values(child & table.proj())
    return found


def delete_with_zarrs(table: Any, delete: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Delete rows (with DataJoint's cascade), then remove the zarrs no row references.

    A declined or failed delete removes nothing: only zarrs whose row is really gone go.
    """
    candidates = _referenced(table)
    result = delete(*args, **kwargs)
    config = table.connection._config
    from datajoint.hash_registry import get_store_backend

    remaining = {
        path
        for name in {name for _, _, name in candidates}
        for _, path, _ in _photon_values(dj.FreeTable(table.connection, name))
    }
    for store, path, _ in candidates:
        if path not in remaining:
            ZarrLocation(path, get_store_backend(store, config=config), store).remove()
    return result


def collect_garbage(schema: Any, *, dry_run: bool = True, min_age: float = 3600.0) -> dict:
    """Remove zarrs that no row references, using DataJoint's garbage collector.

    Parameters
    ----------
    schema : datajoint.Schema
    dry_run : bool
        Only report.
    min_age : float
        Seconds: orphans younger than this are kept, because a worker may be between
        writing a zarr and inserting its row (DataJoint encodes before it inserts).
    """
    config = schema.connection._config
    report: dict[str, Any] = {"stores": {}}
    now = time.time()
    for store in _store_names(config):
        collector = dj.gc.GarbageCollector(schema, store=store)
        stats = collector.collect(dry_run=True)
        orphans = _orphan_zarrs(stats["orphaned_schema_paths"])
        backend = collector.backend
        old = [p for p in orphans if now - _mtime(backend, p) >= min_age]
        removed = 0
        if not dry_run:
            for path in old:
                ZarrLocation(path, backend, store).remove()
                removed += 1
        report["stores"][store] = {
            "orphans": len(orphans),
            "old_enough": len(old),
            "removed": removed,
            "paths": old,
        }
    report["dry_run"] = dry_run
    return report


def _store_names(config: Any) -> list[str]:
    return [name for name, spec in config.stores.items() if isinstance(spec, dict)]


def _orphan_zarrs(files: list[str]) -> list[str]:
    """Group orphaned files into the ``.zarr`` folders they belong to."""
    roots = set()
    for path in files:
        parts = path.split("/")
        for i, part in enumerate(parts):
            if part.endswith(".zarr"):
                roots.add("/".join(parts[: i + 1]))
                break
    return sorted(roots)


def _mtime(backend: Any, path: str) -> float:
    full = backend._full_path(path)
    try:
        info = backend.fs.info(f"{full}/zarr.json")
    except FileNotFoundError:
        return 0.0
    value = info.get("mtime") or info.get("LastModified") or info.get("created") or 0.0
    return value.timestamp() if hasattr(value, "timestamp") else float(value)
