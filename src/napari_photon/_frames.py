"""One protocol for every lazy movie: frames read on demand, in blocks along time.

A fetched ``<photon@>`` movie, its photon-count view, a motion-corrected movie, a TIFF
stack being imported and a synthetic movie all read their frames only when indexed. They
share :class:`FrameSource`: the shape and dtype without I/O, ``movie[...]`` like numpy,
``read_into`` for streaming readers that reuse one buffer, the block size along time that
suits sequential processing (``frames_per_chunk``) and ``to_dask()``.

``to_dask()`` defaults to one frame per chunk, the right chunking for a viewer that shows
one frame at a time (napari keeps the chunks it computed in its cache: whole shards would
fill it and make every step read a shard). Processing asks for big chunks explicitly:
``movie.to_dask(movie.frames_per_chunk)``.

:class:`Frames` gives an implementation the parts that follow from ``shape``, ``dtype``,
``frames_per_chunk`` and ``__getitem__``; :func:`index_frames` gives numpy indexing to a
source that reads contiguous blocks of frames.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "BLOCK_BYTES",
    "VIEW_FRAMES",
    "WORK_FRAMES",
    "FrameSource",
    "Frames",
    "frames_per_block",
    "index_frames",
    "lazy_frames",
    "work_frames",
]

#: Frames per dask chunk of a plain ``to_dask()``: what a viewer shows at once.
VIEW_FRAMES = 1
#: Bytes of float32 values in one block of sequential processing (and one stored shard).
BLOCK_BYTES = 64 * 2**20
#: Frames one block of work of a pass over a movie holds, at most (a 512 x 512 shard).
WORK_FRAMES = 64


@runtime_checkable
class FrameSource(Protocol):
    """A movie whose frames are read on demand: ``(t, y, x)`` or ``(t, z, y, x)``.

    Attributes
    ----------
    shape : tuple of int
        Known without reading any frame.
    dtype : numpy.dtype
        Of the values indexing returns.
    ndim : int
    frames_per_chunk : int
        Frames per block for sequential processing (e.g. one stored shard).
    """

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype: ...

    @property
    def ndim(self) -> int: ...

    @property
    def frames_per_chunk(self) -> int: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: Any) -> np.ndarray:
        """Values like numpy's for ``movie[t]``, ``movie[t0:t1]``, ``movie[t0:t1, y0:y1]``..."""
        ...

    def read_into(self, t0: int, t1: int, out: np.ndarray) -> np.ndarray:
        """Frames ``t0:t1`` written into the caller's ``out`` (shape ``(t1 - t0, ...)``,
        C-contiguous, of ``dtype``); returns ``out``."""
        ...

    def to_dask(self, frames_per_chunk: int | None = None) -> Any:
        """A lazy dask array of the frames, ``frames_per_chunk`` per chunk (default
        :data:`VIEW_FRAMES`); it keeps the source (and what it reads from) alive."""
        ...


class Frames:
    """Mixin: the :class:`FrameSource` parts that follow from ``shape``, ``dtype``,
    ``frames_per_chunk`` and ``__getitem__`` (override ``read_into`` for a faster path)."""

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the values when read whole into memory."""
        return self.size * np.dtype(self.dtype).itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def read_into(self, t0: int, t1: int, out: np.ndarray) -> np.ndarray:
        out[...] = self[t0:t1]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = np.asarray(self[:])
        return values if dtype is None else values.astype(dtype)

    def to_dask(self, frames_per_chunk: int | None = None) -> Any:
        """Lazy dask array of the frames.

        Parameters
        ----------
        frames_per_chunk : int, optional
            Frames per dask chunk. Default :data:`VIEW_FRAMES` (one frame: for viewers);
            processing passes ``frames_per_chunk=movie.frames_per_chunk``.
        """
        frames = int(frames_per_chunk or VIEW_FRAMES)
        return lazy_frames(self, frames, f"{self._dask_prefix()}-{frames}")

    def _dask_prefix(self) -> str:
        """Names this source's dask keys: unique to the object (a cache shared by several
        arrays, napari's, must never hand one source's frames to another)."""
        token = self.__dict__.setdefault("_dask_token", uuid.uuid4().hex)
        return f"{type(self).__name__.lower()}-{token}"


def frames_per_block(frame_shape: tuple[int, ...], budget: int = BLOCK_BYTES) -> int:
    """Frames whose float32 values fit ``budget`` bytes (at least one)."""
    return max(1, budget // (4 * math.prod(frame_shape)))


def work_frames(frames_per_chunk: int | None) -> int:
    """Frames per block of work for a pass over a movie read in blocks of
    ``frames_per_chunk`` frames: that block split evenly into parts of at most
    :data:`WORK_FRAMES` frames (:data:`WORK_FRAMES` when None).

    A stored shard is sized in bytes (:data:`BLOCK_BYTES`), so small frames make few, long
    shards: 1,000 frames of 192 x 192 are three shards of 455, which as blocks of work
    would keep three threads busy however many cores there are, each block 67 MB. Frames
    are stored one per chunk inside a shard, so a part of a shard reads only its frames.
    """
    per = max(1, int(frames_per_chunk or WORK_FRAMES))
    parts = -(-per // WORK_FRAMES)
    return -(-per // parts)


def index_frames(source: Any, read: Callable[[int, int], np.ndarray], index: Any
                 ) -> np.ndarray:
    """``source[index]`` for a source that reads contiguous blocks: ``read(t0, t1)``
    gives frames ``t0:t1`` as an array.

    Time takes an integer, a slice (any step: the span is read, then stepped) or
    ``...``; the other axes take what numpy takes, applied to the block read.

    Raises
    ------
    IndexError
        For a frame out of range or another kind of index along time (lists, arrays).
    """
    n, ndim = source.shape[0], len(source.shape)
    index = index if isinstance(index, tuple) else (index,)
    if index and index[0] is Ellipsis:
        index = (slice(None),) * (ndim - len(index) + 1) + index[1:]
    first, rest = (index[0], index[1:]) if index else (slice(None), ())
    if isinstance(first, (int, np.integer)):
        if not -n <= first < n:
            raise IndexError(f"frame {first} out of range for {n} frames")
        t = int(first) % n
        block = read(t, t + 1)[0]
        return block[rest] if rest else block
    if not isinstance(first, slice):
        raise IndexError(f"{type(source).__name__} is read in contiguous blocks of frames "
                         f"(movie[t0:t1] or movie[t]), not by {type(first).__name__}")
    t0, t1, step = first.indices(n)
    if step < 0:
        return np.asarray(index_frames(source, read, (slice(None), *rest)))[first]
    if t1 <= t0:
        block = np.empty((0, *source.shape[1:]), source.dtype)
    else:
        block = read(t0, t1)
        block = block[::step] if step != 1 else block
    return block[(slice(None), *rest)] if rest else block


def lazy_frames(source: Any, frames_per_chunk: int, name: str) -> Any:
    """A dask array of ``source``'s frames, ``frames_per_chunk`` per chunk.

    The source is inlined into every task (``inline_array``) rather than kept as one key
    the tasks depend on: slicing one frame of a 20,000-chunk array and computing it then
    costs about 2 ms of dask bookkeeping instead of about 13 ms, which a viewer pays at
    every frame step. The tasks keep the source (and its store) alive.
    """
    import dask.array as da

    chunks = (frames_per_chunk, *source.shape[1:])
    meta = np.empty((0,) * len(source.shape), source.dtype)
    return da.from_array(source, chunks=chunks, name=name, asarray=True, lock=False,
                         inline_array=True, meta=meta)
