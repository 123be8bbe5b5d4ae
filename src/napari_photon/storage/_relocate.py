"""Moving a stored movie between object stores (storage tiers) without ever losing it.

A move is: copy every object of the zarr to the target store, check each copied shard
against its checksum, point the row at the copy in one ``UPDATE`` (DataJoint's
``update1``), then delete the source. Killed at any point, the row still points at a
complete copy: before the update at the source (the partial target copy is an orphan that
the next move overwrites and ``gc`` removes), after it at the verified target (the next
move finds the leftover source and deletes it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._checksums import CHECKSUMS_KEY, checksum, shard_count, shard_key, verify_location
from ._location import ZarrLocation

__all__ = ["MoveError", "MoveResult", "Relocated", "copy_zarr", "move_movie"]

Progress = Callable[[int, int], None]


class MoveError(RuntimeError):
    """A move that could not be completed; the row still points at its complete copy."""


@dataclass(frozen=True)
class Relocated:
    """A ``<photon@>`` value that is already stored: the codec writes ``stored`` (the
    row's JSON) as it is. Used only to point a row at a moved copy."""

    stored: dict


@dataclass(frozen=True)
class MoveResult:
    """What happened to one movie.

    Attributes
    ----------
    table : str
    key : dict
    field : str
    action : str
        ``"moved"``, ``"finished"`` (an interrupted move's leftover source deleted),
        ``"already there"`` or ``"elsewhere"`` (in neither store; left alone).
    store : str
        The store the row points at afterwards.
    nbytes : int
        Bytes copied.
    """

    table: str
    key: dict
    field: str
    action: str
    store: str
    nbytes: int = 0


def _objects(location: ZarrLocation) -> list[str]:
    """Keys of every object under a zarr, ``zarr.json`` last."""
    if location.is_local:
        root = location.local_path
        keys = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    else:
        full = location.backend._full_path(location.path).rstrip("/")
        keys = [f[len(full) + 1:] for f in location.backend.fs.find(full)]
    return sorted(keys, key=lambda k: (k == "zarr.json", k))


def copy_zarr(source: ZarrLocation, target: ZarrLocation, metadata: dict,
              progress: Progress | None = None) -> list[int]:
    """Copy every object of a stored movie and check the copy shard by shard.

    Each source shard is checked against the checksums recorded in ``metadata`` (when
    there are any) as it is read, and each copied shard read back and compared.

    Returns
    -------
    list of int
        The shards' checksums (the recorded ones, or those computed now).

    Raises
    ------
    MoveError
        A source shard that is missing or damaged, or a copy that does not read back the
        same; the partial copy is removed.
    """
    recorded = metadata.get(CHECKSUMS_KEY)
    ndim = len(metadata["shape"])
    shards = {shard_key(i, ndim): i for i in range(shard_count(metadata))}
    crcs = list(recorded) if recorded else [0] * len(shards)
    keys = _objects(source)
    missing = sorted(set(shards) - set(keys))
    try:
        if missing:
            raise MoveError(f"{source.describe()}: shard(s) {missing} missing; not moved")
        for done, key in enumerate(keys, 1):
            data = source.read_bytes(key)
            if data is None:
                raise MoveError(f"{source.describe()}: {key} vanished while it was copied")
            if key in shards:
                crc = checksum(data)
                i = shards[key]
                if recorded and crc != int(recorded[i]):
                    raise MoveError(f"{source.describe()}: shard {key} does not match its "
                                    "checksum; not moved (run `napari-photon verify`)")
                crcs[i] = crc
            target.write_bytes(key, data)
            del data
            if progress is not None:
                progress(done, len(keys))
        damaged = verify_location(target, metadata, crcs)
        if damaged:
            raise MoveError(f"the copy does not read back the same: {damaged[0]}")
    except BaseException:
        target.remove()
        raise
    return crcs


def move_movie(table: Any, key: dict, field: str, *, source: str, target: str,
               progress: Progress | None = None) -> MoveResult:
    """Move the ``<photon@>`` value ``field`` of the row ``key`` from store ``source`` to
    store ``target`` (see the module docstring for what an interruption leaves).

    Parameters
    ----------
    table : datajoint table class or instance
    key : dict
        The row's primary key.
    field : str
        A ``<photon@>`` attribute of ``table``.
    source, target : str
        Store names from ``dj.config["stores"]``.
    """
    from datajoint.hash_registry import get_store_backend

    if source == target:
        raise MoveError(f"source and target are the same store {source!r}")
    table = table() if isinstance(table, type) else table
    config = table.connection._config
    for name in (source, target):
        if name not in config.stores or not isinstance(config.stores[name], dict):
            known = sorted(n for n, s in config.stores.items() if isinstance(s, dict))
            raise MoveError(f"unknown store {name!r}; configured stores: {known}")
    movie = (table & key).fetch1(field)
    stored = movie.metadata
    name = table.__class__.__name__

    def at(store: str) -> ZarrLocation:
        return ZarrLocation(movie.path, get_store_backend(store, config=config), store)

    if movie.store == target:
        leftover = at(source)
        if not leftover.exists():
            return MoveResult(name, key, field, "already there", target)
        damaged = verify_location(at(target), stored)
        if damaged:
            raise MoveError(f"{damaged[0]}; the copy in {source!r} is kept")
        leftover.remove()
        return MoveResult(name, key, field, "finished", target)
    if movie.store != source:
        return MoveResult(name, key, field, "elsewhere", movie.store)
    origin, copy = at(source), at(target)
    crcs = copy_zarr(origin, copy, stored, progress)
    moved = {**stored, "store": target, CHECKSUMS_KEY: crcs}
    try:
        type(table)().update1({**key, field: Relocated(moved)})
    except BaseException:
        if (table & key).fetch1(field).store != target:
            copy.remove()
        raise
    nbytes = copy.stored_nbytes()
    origin.remove()
    return MoveResult(name, key, field, "moved", target, nbytes)
