"""napari_photon._in_order: parallel results handed back in order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from napari_photon._in_order import in_order


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
