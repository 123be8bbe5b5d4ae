"""Whole shards of our own layout, encoded and decoded without zarr's per-chunk pipeline.

The writer stores frames as inner chunks of one frame (one plane) inside shards of many
frames, each chunk ``AnscombeQuantize -> bytes -> zstd`` (see ``_writer``). zarr runs that
chain one chunk at a time through asyncio tasks and thread hand-offs: on 512x512 frames
its bookkeeping cost about 3 ms of CPU per frame written and 2 ms per frame read, several
times the quantize + zstd work itself. This module reads and writes the very same bytes
(the zarr v3 ``sharding_indexed`` format: chunks back to back, then the index of
``(offset, nbytes)`` uint64 pairs and its CRC32C) in one pass per shard; zarr still
creates the array and reads it back exactly as before, and anything not in this layout
(``anscombe-v1`` data, other codecs) goes through zarr.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import google_crc32c
import numpy as np
from numcodecs import Zstd

from ._quantize import AnscombeQuantize, dequantize, quantize
from ._zstd import compress

EMPTY = np.uint64(2**64 - 1)
_CRC_BYTES = 4


class CorruptShard(OSError):
    """A shard's index does not match its checksum or points outside the shard."""


@dataclass(frozen=True)
class ShardLayout:
    """The layout ``_writer`` creates: shards of ``frames_per_shard`` frames, inner chunks
    of one plane, ``AnscombeQuantize -> bytes -> zstd`` per chunk, index at the end.

    Attributes
    ----------
    shape : tuple of int
        Array shape, (t, y, x) or (t, z, y, x).
    frames_per_shard : int
        Frames per shard along time.
    step : float
        Quantization step of the codes.
    code_dtype : str
        ``"uint8"`` or ``"uint16"``.
    """

    shape: tuple[int, ...]
    frames_per_shard: int
    step: float
    code_dtype: str

    @property
    def planes(self) -> int:
        """Inner chunks per frame (z planes of a volume; 1 for a plain movie)."""
        return math.prod(self.shape[1:-2])

    @property
    def plane_shape(self) -> tuple[int, int]:
        return self.shape[-2], self.shape[-1]

    @property
    def slots(self) -> int:
        """Inner chunks per shard (entries of its index)."""
        return self.frames_per_shard * self.planes

    @property
    def index_nbytes(self) -> int:
        return 16 * self.slots + _CRC_BYTES

    def key(self, shard: int) -> str:
        """The store key of shard number ``shard`` (default ``/`` chunk key encoding)."""
        return "/".join(["c", str(shard)] + ["0"] * (len(self.shape) - 1))


def layout_of(array: Any) -> ShardLayout | None:
    """The :class:`ShardLayout` of a zarr array, or None when it is not in our layout."""
    from zarr.codecs import BytesCodec, Crc32cCodec, ShardingCodec, ZstdCodec
    from zarr.codecs.sharding import ShardingCodecIndexLocation

    meta = array.metadata
    if getattr(meta, "zarr_format", None) != 3 or len(meta.codecs) != 1:
        return None
    sharding = meta.codecs[0]
    if not isinstance(sharding, ShardingCodec):
        return None
    inner = tuple(sharding.codecs)
    shape = tuple(int(n) for n in array.shape)
    encoding = meta.chunk_key_encoding
    if not (
        len(inner) == 3
        and isinstance(inner[0], AnscombeQuantize)
        and isinstance(inner[1], BytesCodec)
        and isinstance(inner[2], ZstdCodec)
        and not inner[2].checksum
        and [type(c) for c in sharding.index_codecs] == [BytesCodec, Crc32cCodec]
        and sharding.index_location == ShardingCodecIndexLocation.end
        and tuple(sharding.chunk_shape) == (1,) * (len(shape) - 2) + shape[-2:]
        and getattr(encoding, "name", "") == "default"
        and getattr(encoding, "separator", "") == "/"
    ):
        return None
    shard_shape = tuple(int(n) for n in meta.chunk_grid.chunk_shape)
    if shard_shape[1:] != shape[1:]:
        return None
    return ShardLayout(shape=shape, frames_per_shard=shard_shape[0],
                       step=inner[0].step, code_dtype=inner[0].dtype)


# -- writing ---------------------------------------------------------------------------------
def encode_plane(plane: np.ndarray, layout: ShardLayout, clip_negative: bool = False
                 ) -> bytes:
    """One inner chunk: a plane quantized to the layout's codes and compressed by
    :func:`._zstd.compress` (a zstd frame that any zstd decoder, zarr's included, reads).

    Raises
    ------
    CodeOverflowError
        If a value does not fit the layout's code dtype (see :func:`._quantize.quantize`
        for ``clip_negative``).
    """
    little = np.dtype(layout.code_dtype).newbyteorder("<")
    codes = quantize(plane, layout.step, layout.code_dtype, clip_negative)
    return compress(codes.astype(little, copy=False))


def assemble_shard(parts: list[bytes], layout: ShardLayout) -> bytes:
    """The bytes of one shard from its encoded chunks (the first ones; the rest stay
    empty): the chunks back to back, then the index and its CRC32C."""
    if len(parts) > layout.slots:
        raise ValueError(f"{len(parts)} planes do not fit a shard of {layout.slots}")
    index = np.full((layout.slots, 2), EMPTY, dtype="<u8")
    sizes = np.array([len(p) for p in parts], dtype=np.uint64)
    index[: len(parts), 1] = sizes
    index[: len(parts), 0] = np.cumsum(sizes) - sizes
    index_bytes = index.tobytes()
    crc = np.array([google_crc32c.value(index_bytes)], dtype="<u4").tobytes()
    return b"".join([*parts, index_bytes, crc])


# -- reading ---------------------------------------------------------------------------------
def parse_index(tail: bytes, layout: ShardLayout) -> np.ndarray:
    """The ``(slots, 2)`` uint64 index from the last ``index_nbytes`` bytes of a shard."""
    if len(tail) != layout.index_nbytes:
        raise CorruptShard(f"shard index is {len(tail)} bytes, expected {layout.index_nbytes}")
    body, crc = tail[:-_CRC_BYTES], tail[-_CRC_BYTES:]
    if google_crc32c.value(body) != int(np.frombuffer(crc, "<u4")[0]):
        raise CorruptShard("shard index checksum does not match")
    return np.frombuffer(body, dtype="<u8").reshape(layout.slots, 2)


def chunk_span(index: np.ndarray, first: int, last: int) -> tuple[int, int] | None:
    """Byte range ``[start, end)`` covering the stored chunks ``first..last-1`` of an
    index (None when none of them is stored)."""
    rows = index[first:last]
    stored = rows[:, 0] != EMPTY
    if not stored.any():
        return None
    start = int(rows[stored, 0].min())
    end = int((rows[stored, 0] + rows[stored, 1]).max())
    return start, end


def decode_chunks(data: bytes | memoryview, base: int, index: np.ndarray, first: int,
                  layout: ShardLayout, out: np.ndarray) -> None:
    """Decode chunks ``first .. first+len(out)-1`` of a shard into ``out`` (planes, y, x)
    float32; ``data`` holds the shard's bytes from offset ``base`` on. Empty chunks read
    as the fill value 0."""
    codec = Zstd()
    code_dtype = np.dtype(layout.code_dtype).newbyteorder("<")
    view = memoryview(data)
    size = math.prod(layout.plane_shape) * code_dtype.itemsize
    for i in range(len(out)):
        offset, nbytes = index[first + i]
        if offset == EMPTY:
            out[i] = 0.0
            continue
        a = int(offset) - base
        b = a + int(nbytes)
        if a < 0 or b > len(view):
            raise CorruptShard(f"chunk {first + i} lies outside the shard bytes read")
        try:
            raw = codec.decode(view[a:b])
        except Exception as err:  # numcodecs raises RuntimeError for a damaged zstd frame
            raise CorruptShard(f"chunk {first + i} does not decompress ({err})") from None
        if len(raw) != size:
            raise CorruptShard(f"chunk {first + i} decodes to {len(raw)} bytes, not {size}")
        dequantize(np.frombuffer(raw, dtype=code_dtype).reshape(layout.plane_shape),
                   layout.step, out=out[i])


def read_frames(location: Any, layout: ShardLayout, t0: int, t1: int,
                out: np.ndarray | None = None, checksums: Any = None) -> np.ndarray:
    """Frames ``t0:t1`` as stabilized float32 values, shard by shard.

    A shard needed whole is fetched in one request; a shard needed in part is read as its
    index and then the byte range of the frames wanted (two small requests instead of the
    whole shard: what a viewer stepping frame by frame needs).
    ``out``, when given, receives the frames (float32, C-contiguous). ``checksums``, the
    CRC32C recorded for each shard at write, are checked on every shard read whole.

    Raises
    ------
    CorruptShard
        A damaged shard; the message names the movie (``location.describe()``), the shard
        and its frames.
    """
    n = t1 - t0
    if out is None:
        out = np.empty((n, *layout.shape[1:]), np.float32)
    elif out.shape != (n, *layout.shape[1:]) or out.dtype != np.float32 or \
            not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous float32 of shape {(n, *layout.shape[1:])}")
    planes_out = out.reshape(n * layout.planes, *layout.plane_shape)
    per = layout.frames_per_shard
    for shard in range(t0 // per, (t1 - 1) // per + 1 if n > 0 else 0):
        first_t = max(t0, shard * per)
        last_t = min(t1, (shard + 1) * per, layout.shape[0])
        frames_in_shard = min(per, layout.shape[0] - shard * per)
        first, last = (first_t - shard * per) * layout.planes, \
            (last_t - shard * per) * layout.planes
        target = planes_out[(first_t - t0) * layout.planes:(last_t - t0) * layout.planes]
        try:
            _read_shard(location, layout, shard, frames_in_shard, first, last,
                        last_t - first_t, target, checksums)
        except CorruptShard as err:
            t_first = shard * per
            raise CorruptShard(
                f"{location.describe()}: shard {layout.key(shard)} (frames {t_first}-"
                f"{t_first + frames_in_shard - 1}) is damaged: {err}; "
                "`napari-photon verify` lists every damaged shard"
            ) from None
    return out


def _read_shard(location: Any, layout: ShardLayout, shard: int, frames_in_shard: int,
                first: int, last: int, n_frames: int, target: np.ndarray,
                checksums: Any) -> None:
    """Planes ``first:last`` of shard ``shard`` into ``target``."""
    key = layout.key(shard)
    if n_frames == frames_in_shard:  # the whole shard
        data = location.read_bytes(key)
        if data is None:
            target[:] = 0.0
            return
        if checksums is not None and shard < len(checksums) and \
                google_crc32c.value(data) != int(checksums[shard]):
            raise CorruptShard("its bytes do not match the checksum recorded at write")
        index = parse_index(data[-layout.index_nbytes:], layout)
        decode_chunks(data, 0, index, first, layout, target)
        return
    tail = location.read_bytes(key, -layout.index_nbytes)
    if tail is None:
        target[:] = 0.0
        return
    index = parse_index(tail, layout)
    span = chunk_span(index, first, last)
    if span is None:
        target[:] = 0.0
        return
    data = location.read_bytes(key, span[0], span[1])
    decode_chunks(data, span[0], index, first, layout, target)


__all__ = ["CorruptShard", "ShardLayout", "assemble_shard", "chunk_span", "decode_chunks",
           "encode_plane", "layout_of", "parse_index", "read_frames"]
