"""Parallel work handed back in order, with a bounded number of results in flight."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["in_order", "map_ahead", "read_ahead"]


def in_order(pool: Executor, fn: Callable[[Any], Any], items: Iterable, ahead: int
             ) -> Iterator[tuple[Any, Any]]:
    """``(item, fn(item))`` in the order of ``items``, with up to ``ahead`` calls running
    on ``pool`` (memory stays bounded by ``ahead`` results). Calls not started yet are
    cancelled when the caller stops early (an error, a cancel)."""
    futures: deque = deque()
    upcoming = iter(items)
    try:
        for item in itertools.islice(upcoming, ahead):
            futures.append((item, pool.submit(fn, item)))
        while futures:
            item, future = futures.popleft()
            result = future.result()
            for nxt in itertools.islice(upcoming, 1):
                futures.append((nxt, pool.submit(fn, nxt)))
            yield item, result
            del result
    finally:
        for _, future in futures:
            future.cancel()


def read_ahead(source: Any, spans: list[tuple[int, int]],
               workers: int | None = None) -> Iterator[tuple[tuple[int, int], np.ndarray]]:
    """``((t0, t1), float32 block)`` for each span of ``source``, in order, read by a
    thread pool (``workers``, default the package's :func:`thread_count`) up to that many
    blocks ahead of the caller: decoding and the inverse transform overlap the caller's
    own work on the previous block. Memory: ``workers + 1`` blocks at most."""
    from ._threads import thread_count

    workers = workers or thread_count()

    def read(span: tuple[int, int]) -> np.ndarray:
        return np.asarray(source[span[0]:span[1]], dtype=np.float32)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from in_order(pool, read, spans, workers)


def map_ahead(source: Any, spans: list[tuple[int, int]], fn: Callable[[np.ndarray], Any],
              workers: int | None = None) -> Iterator[tuple[tuple[int, int], Any]]:
    """``((t0, t1), fn(block))`` for each span of ``source``, in order: the blocks read as
    by :func:`read_ahead` and ``fn`` run on a second pool of ``workers`` threads (default
    the package's :func:`thread_count`), so that reading overlaps computing even with one
    thread each and computing is parallel with more. Memory: about ``2 * workers + 1``
    blocks and ``workers`` results."""
    from ._threads import thread_count

    workers = workers or thread_count()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        blocks = read_ahead(source, spans, workers)
        for (span, _), result in in_order(pool, lambda item: fn(item[1]), blocks, workers):
            yield span, result
