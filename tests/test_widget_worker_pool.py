"""The widgets' worker pool (`_widgets/_worker.py`): callbacks after close are dropped."""

from __future__ import annotations

import threading

import pytest


def test_results_after_close_are_dropped(qtbot):
    from napari_photon._widgets._worker import WorkerPool

    release = threading.Event()
    busy: list[bool] = []
    pool = WorkerPool(busy.append)
    returned: list = []

    def slow():
        release.wait(30)
        return 42

    worker = pool.start(slow, returned=returned.append)
    assert pool.busy and busy == [True]
    pool.close()
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        release.set()
    assert returned == []
    assert not pool.busy
    assert busy == [True]  # the closed widget is not told it went idle


def test_results_before_close_arrive(qtbot):
    from napari_photon._widgets._worker import WorkerPool

    release = threading.Event()
    pool = WorkerPool()
    returned: list = []

    def slow():
        release.wait(30)
        return 7

    worker = pool.start(slow, returned=returned.append)
    # connected before the worker can finish: a signal emitted earlier would be missed
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        release.set()
    assert returned == [7]
    assert not pool.busy
