"""Ambient options for ``<photon@>`` writes: progress, cancellation, chunk budget.

DataJoint calls the codec's ``encode`` from inside ``insert``; there is no argument through
which a caller can hand it a progress bar. These context variables are that channel::

    with write_options(progress=bar.update_to, cancel=stop_event.is_set):
        Table.insert1(row)
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from .._frames import BLOCK_BYTES

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]

DEFAULT_CHUNK_BUDGET = BLOCK_BYTES


class Cancelled(Exception):
    """The user cancelled a long operation; nothing it started was kept."""


@dataclass(frozen=True)
class WriteOptions:
    """Options for one ``<photon@>`` write.

    Parameters
    ----------
    progress : callable or None
        ``progress(frames_done, frames_total)``, called after each block.
    cancel : callable or None
        Returns True when the write should stop; checked between blocks.
    chunk_budget : int
        Bytes of float32 values per block (one zarr shard); bounds peak memory.
    step : float
        Quantization step in noise standard deviations.
    """

    progress: ProgressCallback | None = None
    cancel: CancelCheck | None = None
    chunk_budget: int = DEFAULT_CHUNK_BUDGET
    step: float = 0.5


_current: contextvars.ContextVar[WriteOptions] = contextvars.ContextVar(
    "napari_photon_write_options", default=WriteOptions()
)


def current_write_options() -> WriteOptions:
    return _current.get()


@contextmanager
def write_options(**changes) -> Iterator[WriteOptions]:
    """Set write options for ``<photon@>`` inserts made inside the block."""
    token = _current.set(replace(_current.get(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def check_cancel(options: WriteOptions) -> None:
    if options.cancel is not None and options.cancel():
        raise Cancelled("cancelled by the user")
