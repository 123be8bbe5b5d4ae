"""napari_photon._in_order: parallel results handed back in order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from napari_photon._in_order import in_order, map_ahead


class _CountingPool(ThreadPoolExecutor):
    """A thread pool that counts the calls submitted and not yet consumed."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers)
        self.outstanding = 0
        self.most = 0

    def submit(self, fn, *args, **kwargs):
        self.outstanding += 1
        self.most = max(self.most, self.outstanding)
        return super().submit(fn, *args, **kwargs)


def test_in_order_keeps_order_and_bounds_the_calls_in_flight():
    items = list(range(10))
    with _CountingPool(4) as pool:
        got = []
        for item, result in in_order(pool, lambda i: i * i, items, ahead=2):
            got.append((item, result))
            pool.outstanding -= 1  # consumed
    assert got == [(i, i * i) for i in items]
    # two running ahead, plus the next one submitted before a result is handed out
    assert pool.most == 3


def test_in_order_cancels_what_did_not_start_when_the_caller_stops():
    started: list[int] = []
    gate = threading.Event()

    def work(item: int) -> int:
        started.append(item)
        if item > 0:
            gate.wait(10)
        return item

    with ThreadPoolExecutor(max_workers=1) as pool:
        results = in_order(pool, work, list(range(10)), ahead=3)
        assert next(results) == (0, 0)  # items 1-3 are submitted by now
        results.close()  # the caller stops after the first result (a cancel, an error)
        gate.set()
    # item 1 may have started before the close; 2 and 3 were cancelled, never run
    assert started in ([0], [0, 1])


def test_map_ahead_hands_back_each_span_computed_in_order():
    movie = np.arange(50 * 2 * 3, dtype=np.uint16).reshape(50, 2, 3)
    spans = [(t0, min(t0 + 7, 50)) for t0 in range(0, 50, 7)]
    threads: set[str] = set()

    def total(block: np.ndarray) -> float:
        threads.add(threading.current_thread().name)
        assert block.dtype == np.float32
        return float(block.sum())

    got = list(map_ahead(movie, spans, total, workers=3))
    assert [span for span, _ in got] == spans
    assert [value for _, value in got] == [float(movie[a:b].sum()) for a, b in spans]
    assert threading.current_thread().name not in threads  # computed on the pool


def test_map_ahead_stops_when_the_caller_stops():
    computed: list[float] = []
    gate = threading.Event()

    def work(block: np.ndarray) -> float:
        computed.append(float(block[0, 0, 0]))
        gate.wait(10)
        return computed[-1]

    movie = np.arange(20, dtype=np.float32).reshape(20, 1, 1)
    results = map_ahead(movie, [(t, t + 1) for t in range(20)], work, workers=1)
    gate.set()
    assert next(results) == ((0, 1), 0.0)
    results.close()
    assert len(computed) <= 3  # the first, at most one more running, none of the rest
