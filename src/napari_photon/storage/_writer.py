"""Stream a movie into a sharded, quantized, zstd-compressed zarr v3 array."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr
from zarr.codecs import ZstdCodec

from .._frames import frames_per_block
from .._in_order import in_order
from .._threads import thread_count
from ._checksums import checksum, shard_count, shard_key
from ._location import ZarrLocation
from ._options import WriteOptions, check_cancel
from ._quantize import AnscombeQuantize, CodeOverflowError, max_value
from ._shards import ShardLayout, assemble_shard, encode_plane, layout_of
from ._source import MovieSource

logger = logging.getLogger(__name__)

CODEC_VERSION = 1
ATTRS_KEY = "napari_photon"
# The level zarr's own codec pipeline would use (arrays it writes chunk by chunk); our
# shard writer compresses with the parameters of ._zstd instead. Any level, and any
# parameters, decode the same way.
ZSTD_LEVEL = 1


@dataclass(frozen=True)
class WriteResult:
    """What a write produced; kept in the row's JSON and the zarr attributes."""

    shape: tuple[int, ...]
    code_dtype: str
    step: float
    frames_per_shard: int
    source_dtype: str
    stored_nbytes: int
    shard_crc32c: tuple[int, ...] = ()


def write_movie(
    location: ZarrLocation, source: MovieSource, options: WriteOptions
) -> WriteResult:
    """Write ``source`` to ``location`` block by block; remove it again on any failure.

    Codes start as uint8; if a block needs more range the write restarts with uint16
    (rare: above about 4000 photons per pixel per frame).
    """
    try:
        for code_dtype in ("uint8", "uint16"):
            try:
                return _write(location, source, options, code_dtype)
            except _NeedsWiderCodes:
                location.remove()
        raise AssertionError("unreachable: uint16 writes never ask for wider codes")
    except BaseException:
        _remove_partial(location)
        raise


def _remove_partial(location: ZarrLocation) -> None:
    """Remove a failed write's zarr; when the store cannot be reached either, leave it to
    ``napari-photon gc`` (no row references it) rather than hide the first error."""
    try:
        location.remove()
    except Exception as err:
        logger.warning("could not remove the partial zarr %s (%s); `napari-photon gc` "
                       "removes it once the store is back", location.describe(), err)


class _NeedsWiderCodes(Exception):
    pass


def _write(
    location: ZarrLocation, source: MovieSource, options: WriteOptions, code_dtype: str
) -> WriteResult:
    per_shard = _frames_per_shard(source, options)
    inner = (1,) * (len(source.shape) - 3) + source.shape[-2:]
    array = zarr.create_array(
        location.zarr_store(read_only=False),
        shape=source.shape,
        dtype="float32",
        chunks=(1, *inner),
        shards=(per_shard, *source.frame_shape),
        filters=[AnscombeQuantize(step=options.step, dtype=code_dtype)],
        compressors=[ZstdCodec(level=ZSTD_LEVEL)],
        fill_value=0.0,
        overwrite=True,
        # zarr's default (False) compares every chunk with the fill value before encoding
        # it, one more pass over the float32 block: 312 -> 450 frames/s of a 512x512 block
        # write here. Only all-zero frames are affected (stored instead of left out); reads
        # are identical.
        config={"write_empty_chunks": True},
    )
    ceiling = max_value(options.step, code_dtype)
    layout = layout_of(array)  # always ours here; zarr's own path stays the fallback
    # a registered movie rings slightly below zero, where no stabilized value can be:
    # such values are clipped to code 0 while they are quantized (no pass of its own)
    clip = source.stabilized

    def encode(plane: np.ndarray) -> bytes:
        try:
            return encode_plane(plane, layout, clip)
        except CodeOverflowError:
            if _too_large_for(plane, code_dtype, ceiling):
                raise _NeedsWiderCodes from None
            raise

    # a source that computes its frames (a corrected movie) has each block computed and
    # encoded by one thread, the frames still in that core's cache
    mapper = frame_mapper(source, layout)
    crcs: list[int] = []

    def produce(span: tuple[int, int]) -> np.ndarray | list[bytes]:
        return mapper(*span, encode) if mapper is not None else source.block(*span)

    with ThreadPoolExecutor(max_workers=_workers()) as encoders:
        for i, (t0, t1), made in _blocks(source, options, produce, mapped=mapper is not None):
            if layout is None:
                _write_through_zarr(array, t0, t1, made, clip, code_dtype, ceiling)
            else:
                if mapper is None:
                    made = list(encoders.map(encode, made.reshape(-1, *layout.plane_shape)))
                shard = assemble_shard(made, layout)
                crcs.append(checksum(shard))
                location.write_bytes(layout.key(i), shard)
                del shard
            del made
    result = WriteResult(
        shape=source.shape,
        code_dtype=code_dtype,
        step=options.step,
        frames_per_shard=per_shard,
        source_dtype=str(source.source_dtype),
        stored_nbytes=0,
        shard_crc32c=tuple(crcs) if layout is not None else _read_checksums(location, source),
    )
    array.attrs[ATTRS_KEY] = attributes(result, source)
    return _with_size(result, location.stored_nbytes())


def read_through(source: MovieSource, options: WriteOptions) -> None:
    """Read ``source`` as :func:`write_movie` does (the same blocks, computed by the same
    threads, with its progress reports and cancel checks) and store nothing: what a dry
    run (:func:`~napari_photon.storage.dry_run`) does with a ``<photon@>`` value, so that
    whatever a computed movie gathers while it streams (a corrected movie's QC) is there.

    Raises
    ------
    PhotonInputError
        As a write would, for values that cannot be stored.
    Cancelled
        When ``options.cancel`` says so.
    """
    mapper = _map_frames_of(source)

    def produce(span: tuple[int, int]) -> None:
        if mapper is not None:
            mapper(*span, _discard)
        else:
            source.block(*span)  # validated, then dropped

    for _ in _blocks(source, options, produce, mapped=mapper is not None):
        pass


def _discard(frame: np.ndarray) -> None:
    return None


def _workers() -> int:
    return thread_count()


def _frames_per_shard(source: MovieSource, options: WriteOptions) -> int:
    """One shard (one block of the write) of float32 values fits the chunk budget."""
    return min(source.shape[0], frames_per_block(source.frame_shape, options.chunk_budget))


def _blocks(source: MovieSource, options: WriteOptions, produce: Callable[[Any], Any],
            mapped: bool) -> Iterator[tuple[int, tuple[int, int], Any]]:
    """``(i, (t0, t1), produce((t0, t1)))`` for the write's blocks, in order; progress is
    reported and cancel checked once the caller is done with a block."""
    n_frames = source.shape[0]
    per_shard = _frames_per_shard(source, options)
    spans = [(t0, min(t0 + per_shard, n_frames)) for t0 in range(0, n_frames, per_shard)]
    # a mapped source: one block per worker thread at a time, each computed and encoded
    # whole by its thread (no barrier inside a block); otherwise the next block is read
    # while this one is encoded by the pool
    ahead = _workers() if mapped else 1
    with ThreadPoolExecutor(max_workers=ahead) as producers:
        for i, ((t0, t1), made) in enumerate(in_order(producers, produce, spans, ahead)):
            yield i, (t0, t1), made
            del made
            if options.progress is not None:
                options.progress(t1, n_frames)
            check_cancel(options)


def frame_mapper(source: MovieSource, layout: ShardLayout | None) -> Callable | None:
    """``source``'s ``map_frames(t0, t1, fn)`` when the writer can use it: a stabilized
    source whose data computes a block of frames and hands each one to ``fn`` in the
    calling thread (see :meth:`napari_photon.motion.CorrectedMovie.map_frames`), written in
    our shard layout with one plane per frame."""
    if layout is None or layout.planes != 1:
        return None
    return _map_frames_of(source)


def _map_frames_of(source: MovieSource) -> Callable | None:
    """A stabilized (t, y, x) source's ``map_frames``, if its data has one."""
    mapper = getattr(source.data, "map_frames", None)
    if not (source.stabilized and callable(mapper) and len(source.shape) == 3):
        return None
    return mapper


def _write_through_zarr(array: Any, t0: int, t1: int, block: np.ndarray, clip: bool,
                        code_dtype: str, ceiling: float) -> None:
    """zarr's own codec pipeline (arrays not in our shard layout)."""
    if clip:
        block = np.maximum(block, 0)
    try:
        array[t0:t1] = block
    except CodeOverflowError:
        if _too_large_for(block, code_dtype, ceiling):
            raise _NeedsWiderCodes from None
        raise


def _too_large_for(values: np.ndarray, code_dtype: str, ceiling: float) -> bool:
    """Whether ``values`` overflowed uint8 codes by being large: the write then restarts
    with uint16 (checked only after an overflow, not on every block: one pass less over
    each); negative or non-finite values stay errors."""
    return code_dtype == "uint8" and float(np.max(values)) > ceiling


def attributes(result: WriteResult, source: MovieSource) -> dict:
    """The self-description kept in the zarr attributes (and, extended, in the row)."""
    return {
        "codec_version": CODEC_VERSION,
        "values": "generalized-anscombe",
        "calibration": source.calibration.to_dict(),
        "step": result.step,
        "code_dtype": result.code_dtype,
        "source_dtype": result.source_dtype,
        "frames_per_shard": result.frames_per_shard,
    }


def _read_checksums(location: ZarrLocation, source: MovieSource) -> tuple[int, ...]:
    """The checksums of shards zarr wrote itself (not in our layout): read back once."""
    per = int(location.open_array().metadata.chunk_grid.chunk_shape[0])
    meta = {"shape": source.shape, "frames_per_shard": per}
    return tuple(checksum(location.read_bytes(shard_key(i, len(source.shape))) or b"")
                 for i in range(shard_count(meta)))


def _with_size(result: WriteResult, stored_nbytes: int) -> WriteResult:
    return WriteResult(**{**result.__dict__, "stored_nbytes": int(stored_nbytes)})
