"""Per-shard checksums: recorded when a movie is written, checked by ``verify`` and moves.

Each shard object of a stored movie gets a CRC32C of its bytes (the checksum zarr's own
shard index uses, computed in hardware by ``google_crc32c``). The list is kept in the
row's JSON (``shard_crc32c``), so a damaged store cannot also damage the record it is
checked against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import google_crc32c
import numpy as np

from ._location import ZarrLocation
from ._shards import CorruptShard, ShardLayout, decode_chunks, parse_index

CHECKSUMS_KEY = "shard_crc32c"

__all__ = ["CHECKSUMS_KEY", "DamagedShard", "checksum", "shard_count", "shard_frames",
           "shard_key", "verify_location"]


def checksum(data: bytes) -> int:
    """CRC32C of ``data``."""
    return int(google_crc32c.value(bytes(data)))


def shard_key(shard: int, ndim: int) -> str:
    """Store key of shard ``shard`` of an array with ``ndim`` dimensions."""
    return "/".join(["c", str(shard)] + ["0"] * (ndim - 1))


def shard_count(metadata: dict) -> int:
    """Number of shards of a stored movie, from its row metadata."""
    frames = int(metadata["shape"][0])
    per = int(metadata.get("frames_per_shard") or frames or 1)
    return math.ceil(frames / per) if frames else 0


def shard_frames(metadata: dict, shard: int) -> tuple[int, int]:
    """Frames ``[t0, t1)`` held by shard ``shard``."""
    frames = int(metadata["shape"][0])
    per = int(metadata.get("frames_per_shard") or frames or 1)
    return shard * per, min((shard + 1) * per, frames)


@dataclass(frozen=True)
class DamagedShard:
    """One shard that failed verification.

    Attributes
    ----------
    location : str
        ``store:path`` of the movie.
    shard : int
    key : str
        The shard's key under the movie's zarr.
    frames : tuple of int
        Frames ``[t0, t1)`` the shard holds.
    problem : str
        What is wrong: missing, checksum mismatch, unreadable.
    """

    location: str
    shard: int
    key: str
    frames: tuple[int, int]
    problem: str

    def __str__(self) -> str:
        t0, t1 = self.frames
        return f"{self.location}: shard {self.key} (frames {t0}-{t1 - 1}): {self.problem}"


def verify_location(location: ZarrLocation, metadata: dict,
                    checksums: Sequence[int] | None = None) -> list[DamagedShard]:
    """Re-read every shard of a stored movie and report the damaged ones.

    With recorded checksums (``checksums``, or ``metadata["shard_crc32c"]``) each shard's
    bytes are compared with its checksum; without them (movies written before checksums
    were recorded) each shard's index is checked and every chunk decoded.

    Returns
    -------
    list of DamagedShard
        Empty when the movie is whole.
    """
    recorded = checksums if checksums is not None else metadata.get(CHECKSUMS_KEY)
    ndim = len(metadata["shape"])
    n = shard_count(metadata)
    where = location.describe()
    if recorded is not None and len(recorded) != n:
        return [DamagedShard(where, 0, shard_key(0, ndim), (0, int(metadata["shape"][0])),
                             f"{len(recorded)} checksums recorded for {n} shards")]
    layout = _layout(metadata)
    damaged = []
    for i in range(n):
        key = shard_key(i, ndim)
        data = location.read_bytes(key)
        problem = None
        if data is None:
            problem = "missing"
        elif recorded is not None:
            if checksum(data) != int(recorded[i]):
                problem = "checksum mismatch (the bytes changed after they were written)"
        else:
            problem = _decode_problem(data, layout, *shard_frames(metadata, i))
        if problem:
            damaged.append(DamagedShard(where, i, key, shard_frames(metadata, i), problem))
    return damaged


def _layout(metadata: dict) -> ShardLayout:
    return ShardLayout(
        shape=tuple(int(n) for n in metadata["shape"]),
        frames_per_shard=int(metadata.get("frames_per_shard") or metadata["shape"][0]),
        step=float(metadata.get("step", 0.5)),
        code_dtype=str(metadata.get("code_dtype", "uint8")),
    )


def _decode_problem(data: bytes, layout: ShardLayout, t0: int, t1: int) -> str | None:
    try:
        index = parse_index(data[-layout.index_nbytes:], layout)
        out = np.empty(((t1 - t0) * layout.planes, *layout.plane_shape), np.float32)
        decode_chunks(data, 0, index, 0, layout, out)
    except CorruptShard as err:
        return f"unreadable: {err}"
    return None
